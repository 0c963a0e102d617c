"""The diff of two runs: one streamed merge of four sorted streams (each run's evidence and findings, in resource
order), one resource at a time.

    diff = RunDiff.open(store, from_run_id, to_run_id, accounts=None, check_ids=None)
    for resource in diff.resources(after=None):    # ResourceDiff, in (account, region, resource) order
        ...

Memory holds one resource's rows and a batch of payloads being compared, never a run. Payloads are read only for
evidence items whose hash differs (and the to-run's change lookup of the resource), in batches, each checked
against its sha256 as it is read.

Only (account, region) pairs that both runs collected are compared resource by resource: a region or account that
one run did not collect (another scope, or refused as a whole) is said once (`places_only_before/after`), not as
thousands of resources added or removed. Scope records (`collection.*`) and listings are left out (what they say
shows as resources added and removed); the to-run's `cloudtrail.change_events` are not a change of the resource but
who changed it (`ResourceDiff.lookup`).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from core.errors import ConflictError, NotFoundError
from evidence.blobstore import BlobStore
from evidence.diff.gaps import GapIndex
from evidence.diff.merge import grouped_merge
from evidence.diff.order import (
    EvidenceTuple,
    FindingTuple,
    ResourceKey,
    evidence_keys,
    finding_keys,
    places,
    resource_of,
)
from evidence.diff.render import describe
from evidence.diff.types import (
    CHANGE_EVENTS,
    ChangeLookup,
    FindingChange,
    FindingChangeKind,
    ItemChange,
    KindChange,
    ResourceChange,
    ResourceDiff,
)
from evidence.findings import has_findings
from evidence.models import Blob, Run, RunStatus
from evidence.store import EvidenceStore, verified_payload

SKIPPED_KINDS = frozenset({"listing", "collection.account", "collection.region", CHANGE_EVENTS})
_WORST = {"fail": 3, "error": 2, "pass": 1, "not_applicable": 0}
_BATCH = 256  # resources whose payloads are read in one query
# Positions in the streamed rows (evidence.diff.order).
KIND, SHA, TYPE = 3, 4, 5
CHECK, STATUS, REASON, FINDING_TYPE = 3, 4, 5, 6


@dataclass(frozen=True, slots=True)
class _Group:
    key: ResourceKey
    before: list[EvidenceTuple]
    after: list[EvidenceTuple]
    findings_before: list[FindingTuple]
    findings_after: list[FindingTuple]


def _failing(rows: list[FindingTuple]) -> bool:
    return "fail" in [row[STATUS] for row in rows]


@dataclass
class RunDiff:
    """Two sealed runs (the to-run may still be running when a collection diffs itself against the previous one)."""

    store: EvidenceStore
    before: Run
    after: Run
    accounts: frozenset[str] | None = None
    check_ids: frozenset[str] | None = None
    places_before: frozenset[tuple[str, str]] = frozenset()
    places_after: frozenset[tuple[str, str]] = frozenset()
    findings_compared: bool = False
    gaps_before: GapIndex = field(default_factory=lambda: GapIndex(()))
    gaps_after: GapIndex = field(default_factory=lambda: GapIndex(()))

    @classmethod
    def open(
        cls,
        store: EvidenceStore,
        from_run_id: int,
        to_run_id: int,
        *,
        accounts: Collection[str] | None = None,
        check_ids: Collection[str] | None = None,
        allow_running: bool = False,
    ) -> RunDiff:
        """`accounts`: compare these accounts only (None: all). `check_ids`: compare findings of these checks only.
        `allow_running`: the to-run may still be running (a collection comparing itself with the previous run)."""
        if from_run_id == to_run_id:
            raise ConflictError(f"run {from_run_id} compared with itself: give two different runs")
        before, after = store.get_run(from_run_id), store.get_run(to_run_id)
        for run in (before, after):
            running = run.status == RunStatus.RUNNING.value
            if running and not (allow_running and run is after):
                raise ConflictError(f"run {run.id} is still running: a diff compares sealed runs")
        keep = frozenset(accounts) if accounts is not None else None
        with store.engine.connect() as connection:
            places_before = _kept(places(connection, before.id), keep)
            places_after = _kept(places(connection, after.id), keep)
        return cls(
            store=store,
            before=before,
            after=after,
            accounts=keep,
            check_ids=frozenset(check_ids) if check_ids is not None else None,
            places_before=places_before,
            places_after=places_after,
            findings_compared=has_findings(store, before.id) and has_findings(store, after.id),
            gaps_before=GapIndex(store.gaps(before.id)),
            gaps_after=GapIndex(store.gaps(after.id)),
        )

    @property
    def places_only_before(self) -> tuple[tuple[str, str], ...]:
        return tuple(sorted(self.places_before - self.places_after))

    @property
    def places_only_after(self) -> tuple[tuple[str, str], ...]:
        return tuple(sorted(self.places_after - self.places_before))

    def resources(self, *, after: ResourceKey | None = None, include_unchanged: bool = True) -> Iterator[ResourceDiff]:
        """Every resource with something to report, in resource order, starting after `after`. Unchanged resources
        are reported only for their findings (still failing, say); `include_unchanged=False` leaves those out."""
        shared = self.places_before & self.places_after
        with self.store.engine.connect() as connection:
            streams: list[Iterator[Any]] = [
                evidence_keys(connection, self.before.id, after=after, accounts=self.accounts),
                evidence_keys(connection, self.after.id, after=after, accounts=self.accounts),
            ]
            if self.findings_compared:
                streams += [
                    finding_keys(connection, run_id, after=after, accounts=self.accounts, check_ids=self.check_ids)
                    for run_id in (self.before.id, self.after.id)
                ]
            pending: list[_Group] = []
            for key, rows in grouped_merge(streams, key=resource_of):
                if key[:2] not in shared:
                    continue
                before, after_rows = rows[0], rows[1]
                findings_before, findings_after = (rows[2], rows[3]) if len(rows) == 4 else ([], [])
                # Most resources: the same evidence in both runs and nothing failing (the rows compare as tuples).
                if before == after_rows and not _failing(findings_before) and not _failing(findings_after):
                    continue
                pending.append(_Group(key, before, after_rows, findings_before, findings_after))
                if len(pending) >= _BATCH:
                    yield from self._finish(connection, pending, include_unchanged)
                    pending = []
            yield from self._finish(connection, pending, include_unchanged)

    # -- one batch of resources ---------------------------------------------------------------------------------

    def _finish(self, connection: Connection, groups: list[_Group], include_unchanged: bool) -> Iterator[ResourceDiff]:
        wanted: set[str] = set()
        for group in groups:
            wanted |= _payloads_needed(group)
        payloads = _load(connection, wanted, self.store.blobs)
        for group in groups:
            diff = self._resource(group, payloads)
            if diff is None:
                continue
            if diff.change is ResourceChange.UNCHANGED and not include_unchanged:
                continue
            yield diff

    def _resource(self, group: _Group, payloads: dict[str, Any]) -> ResourceDiff | None:
        account, region, resource_id = group.key
        kinds = self._kinds(group, payloads)
        compared = [row for row in (*group.before, *group.after) if row[KIND] not in SKIPPED_KINDS]
        change = _resource_change(kinds, group)
        findings = self._findings(group, change)
        if change is ResourceChange.UNCHANGED and not findings:
            return None
        lookup = self._lookup(group, payloads)
        resource_type = next(
            (row[TYPE] for row in compared),
            next((f[FINDING_TYPE] for f in (*group.findings_after, *group.findings_before)), ""),
        )
        return ResourceDiff(
            account_id=account,
            region=region,
            resource_id=resource_id,
            resource_type=resource_type,
            change=change,
            kinds=tuple(kinds),
            findings=tuple(findings),
            lookup=lookup,
        )

    def _kinds(self, group: _Group, payloads: dict[str, Any]) -> list[KindChange]:
        account, region, resource_id = group.key
        before = _by_kind(group.before)
        after = _by_kind(group.after)
        changes: list[KindChange] = []
        for kind in sorted(set(before) | set(after)):
            old, new = tuple(before.get(kind, ())), tuple(after.get(kind, ()))
            if sorted(old) == sorted(new):
                continue
            if not old:
                unread = self.gaps_before.covers(account, region, resource_id, kind)
                changes.append(KindChange(kind, ItemChange.UNREAD_BEFORE if unread else ItemChange.ADDED, after=new))
            elif not new:
                unread = self.gaps_after.covers(account, region, resource_id, kind)
                changes.append(KindChange(kind, ItemChange.UNREAD_NOW if unread else ItemChange.REMOVED, before=old))
            else:
                fields, lines = _compare(kind, old, new, payloads)
                if fields or lines:
                    changes.append(KindChange(kind, ItemChange.CHANGED, old, new, lines, fields))
        return changes

    def _findings(self, group: _Group, change: ResourceChange) -> list[FindingChange]:
        if not self.findings_compared:
            return []
        before = _worst_by_check(group.findings_before)
        after = _worst_by_check(group.findings_after)
        gone = change is ResourceChange.REMOVED
        found: list[FindingChange] = []
        for check_id in sorted(set(before) | set(after)):
            old = before.get(check_id)
            new = after.get(check_id)
            old_status = old[STATUS] if old else None
            new_status = new[STATUS] if new else None
            kind: FindingChangeKind | None = None
            if new_status == "fail":
                kind = FindingChangeKind.STILL_FAILING if old_status == "fail" else FindingChangeKind.NEWLY_FAILING
            elif old_status == "fail":
                if new_status in ("pass", "not_applicable") or (new_status is None and gone):
                    kind = FindingChangeKind.RESOLVED
                else:
                    kind = FindingChangeKind.UNVERIFIED
            if kind is None:
                continue
            reason = str((new or old)[REASON]) if (new or old) else ""
            if new is None and gone:
                reason = "the resource is no longer in the run's evidence"
            elif new is None:
                reason = "no finding in the newer run (its evidence could not be read or judged)"
            found.append(FindingChange(check_id, kind, old_status, new_status, reason))
        return found

    def _lookup(self, group: _Group, payloads: dict[str, Any]) -> ChangeLookup | None:
        """What the to-run's change lookup says about this resource: its events, a failed lookup (a gap), or None
        when it was not looked up."""
        recorded = [row for row in group.after if row[KIND] == CHANGE_EVENTS]
        if recorded:
            sha = recorded[0][SHA]
            payload = payloads.get(sha)
            return ChangeLookup.from_payload(payload, sha) if isinstance(payload, dict) else None
        gap = self.gaps_after.for_resource(group.key[0], group.key[2], CHANGE_EVENTS)
        if gap is not None:
            return ChangeLookup(status="failed", message=f"{gap.error_code}: {gap.message}")
        return None


def _kept(found: frozenset[tuple[str, str]], accounts: frozenset[str] | None) -> frozenset[tuple[str, str]]:
    return found if accounts is None else frozenset(p for p in found if p[0] in accounts)


def _by_kind(rows: list[EvidenceTuple]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for row in rows:
        if row[KIND] not in SKIPPED_KINDS:
            out.setdefault(row[KIND], []).append(row[SHA])
    return out


def _payloads_needed(group: _Group) -> set[str]:
    before, after = _by_kind(group.before), _by_kind(group.after)
    wanted = {row[SHA] for row in group.after if row[KIND] == CHANGE_EVENTS}
    for kind in set(before) & set(after):
        if sorted(before[kind]) != sorted(after[kind]):
            wanted.update(before[kind])
            wanted.update(after[kind])
    return wanted


def _load(connection: Connection, wanted: set[str], blobs: BlobStore) -> dict[str, Any]:
    payloads: dict[str, Any] = {}
    ordered = sorted(wanted)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        rows = list(connection.execute(select(Blob.sha256, Blob.data).where(Blob.sha256.in_(chunk))))
        if blobs.external:  # the rows say which are stored; the bytes come from the objects, checked
            fetched = blobs.get_many(sha256 for sha256, _data in rows)  # type: ignore[attr-defined]
            payloads.update((sha256, json.loads(data)) for sha256, data in fetched.items())
            continue
        for sha256, data in rows:
            payloads[sha256] = json.loads(verified_payload(sha256, data))
    missing = wanted - set(payloads)
    if missing:
        raise NotFoundError(f"evidence payload {sorted(missing)[0]} is named by a run but not stored")
    return payloads


def _compare(
    kind: str, old: tuple[str, ...], new: tuple[str, ...], payloads: dict[str, Any]
) -> tuple[tuple[Any, ...], tuple[str, ...]]:
    """Field changes between the payloads of one kind; several items of a kind for one resource are compared as a
    set of payloads (how many were added and removed)."""
    if len(old) == 1 and len(new) == 1:
        return describe(kind, payloads[old[0]], payloads[new[0]])
    gone = sorted(set(old) - set(new))
    came = sorted(set(new) - set(old))
    lines = []
    if gone:
        lines.append(f"{len(gone)} of {len(old)} items no longer recorded")
    if came:
        lines.append(f"{len(came)} new items of {len(new)}")
    return (), tuple(lines)


def _resource_change(kinds: list[KindChange], group: _Group) -> ResourceChange:
    before = [row for row in group.before if row[KIND] not in SKIPPED_KINDS]
    after = [row for row in group.after if row[KIND] not in SKIPPED_KINDS]
    if not kinds:
        return ResourceChange.UNCHANGED
    real = [k for k in kinds if k.change not in (ItemChange.UNREAD_BEFORE, ItemChange.UNREAD_NOW)]
    if not real:
        return ResourceChange.UNREAD
    if not before and all(k.change is ItemChange.ADDED for k in kinds):
        return ResourceChange.ADDED
    if not after and all(k.change is ItemChange.REMOVED for k in kinds):
        return ResourceChange.REMOVED
    return ResourceChange.CHANGED


def _worst_by_check(rows: list[FindingTuple]) -> dict[str, FindingTuple]:
    out: dict[str, FindingTuple] = {}
    for row in rows:
        current = out.get(row[CHECK])
        if current is None or _WORST.get(row[STATUS], 0) > _WORST.get(current[STATUS], 0):
            out[row[CHECK]] = row
    return out


def previous_run(store: EvidenceStore, run: Run) -> Run | None:
    """The run a new run is compared with: the newest complete or partial run sealed before it, preferring one
    collected with the same scope (an on-demand run of one region is not the baseline of the nightly one)."""
    usable = [status.value for status in RunStatus.usable()]
    query = select(Run).where(Run.status.in_(usable), Run.chain_seq.is_not(None), Run.id != run.id)
    if run.chain_seq is not None:
        query = query.where(Run.chain_seq < run.chain_seq)
    query = query.order_by(Run.chain_seq.desc()).limit(50)
    with store.sessions() as session:
        candidates = list(session.scalars(query))
    same = next((c for c in candidates if (c.scope or {}) == (run.scope or {})), None)
    return same or (candidates[0] if candidates else None)


def latest_pair(store: EvidenceStore) -> tuple[Run, Run]:
    """The two newest complete or partial sealed runs (older, newer): what `auditpack diff` compares by default."""
    usable = [status.value for status in RunStatus.usable()]
    query = select(Run).where(Run.status.in_(usable), Run.chain_seq.is_not(None)).order_by(Run.chain_seq.desc())
    with store.sessions() as session:
        runs = list(session.scalars(query.limit(2)))
    if len(runs) < 2:
        raise NotFoundError(
            f"a diff needs two complete or partial runs; the store holds {len(runs)}",
            hint="collect again (`auditpack collect`), or name the runs with --from and --to",
        )
    return runs[1], runs[0]
