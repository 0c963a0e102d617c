"""Changes in the period: what a period packet says changed between the state at the period's start and its end.

    period_changes(store, ...) -> PeriodChanges
    changes.context(limit) -> the `_changes.html` section; changes.export(writer) -> changes.json (attached, signed);
    changes.summary() -> the manifest's `changes` key

The baseline is the newest complete or partial run at or before the period's start (the state the period starts
from); with none, the period's first run, and the section says so. The end is the run the packet rests on. The
section lists:
- control status changes: the framework evaluated on the baseline as of the period's start, and as the packet
  shows it (`frameworks.drift`);
- findings newly failing and resolved between the two runs (`evidence.diff`: both runs' stored findings, which the
  caller verified against their evidence first), each newly failing one with who changed its resource: the
  `cloudtrail.change_events` evidence the period's runs recorded for it (a failed lookup says so);
- exceptions created, approved, revoked and expired in the period, and evidence items that expired in it.
Everything comes from chained data (evidence rows, the customer ledger), and all of it is in the signed PDF: the
body shows the first rows of each list, changes.json (an attachment under the signature) all of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from core.canonical import rfc3339
from evidence.customer.types import CustomerEvidence
from evidence.diff.engine import RunDiff
from evidence.diff.types import CHANGE_EVENTS, ChangeEvent, ChangeLookup, FindingChangeKind
from evidence.models import Run
from evidence.store import EvidenceStore
from frameworks.drift import ControlChange, CustomerChange, control_changes, customer_changes
from frameworks.results import FrameworkStatus, RunRef
from frameworks.schema import Catalog
from reports.streams import ExportedFile, ExportWriter

CHANGES_FILE = ("changes.json", "changes.json", "application/json")
CHANGES_DESCRIPTION = (
    "Changes in the period: control status changes, findings newly failing (with who changed the resource) and "
    "resolved, exceptions and evidence items created, approved, revoked or expired"
)
# The customer events the section reports (the issue's "exceptions created, approved and expired, evidence items
# expired"; a revoked exception ends a risk acceptance too).
REPORTED = {("exception", "created"), ("exception", "approved"), ("exception", "revoked"), ("exception", "expired")}
REPORTED |= {("item", "expired")}
WriterFactory = Callable[[tuple[str, str, str], str], ExportWriter]


@dataclass(frozen=True, slots=True)
class RunInfo:
    id: int
    status: str
    finished_at: datetime | None
    digest: str | None

    @classmethod
    def of(cls, run: Run) -> RunInfo:
        return cls(run.id, run.status, run.finished_at, run.digest)

    def as_json(self) -> dict[str, Any]:
        finished = rfc3339(self.finished_at) if self.finished_at else None
        return {"id": self.id, "status": self.status, "finished_at": finished, "digest": self.digest}


@dataclass(frozen=True, slots=True)
class FindingEntry:
    check_id: str
    account_id: str
    region: str
    resource_id: str
    reason: str
    before: str | None
    after: str | None
    # newly failing ones: who wrote to the resource in the period (successful calls), and lookups that failed
    actors: tuple[str, ...] = ()
    events: tuple[ChangeEvent, ...] = ()
    lookup_failed: tuple[str, ...] = ()
    looked_up: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "check_id": self.check_id,
            "account_id": self.account_id,
            "region": self.region,
            "resource_id": self.resource_id,
            "reason": self.reason,
            "before": self.before,
            "after": self.after,
            "changed_by": list(self.actors),
            "events": [
                {
                    "event_time": str(e.event_time),
                    "event_name": e.event_name,
                    "actor_arn": e.actor_arn,
                    "source_ip": e.source_ip,
                    "user_agent": e.user_agent,
                    "error_code": e.error_code,
                    "event_id": e.event_id,
                }
                for e in self.events
            ],
            "lookup_failed": list(self.lookup_failed),
            "looked_up": self.looked_up,
        }


@dataclass(frozen=True, slots=True)
class PeriodChanges:
    since: datetime
    until: datetime
    baseline: RunInfo
    end: RunInfo
    baseline_in_period: bool  # no run before the period: changes are counted from its first run
    controls: tuple[ControlChange, ...] = ()
    new_failures: tuple[FindingEntry, ...] = ()
    resolved: tuple[FindingEntry, ...] = ()
    customer: tuple[CustomerChange, ...] = ()
    lookup_runs: tuple[int, ...] = ()  # the runs whose CloudTrail lookups were read
    file_name: str = CHANGES_FILE[0]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def compared(self) -> bool:
        return self.baseline.id != self.end.id

    def summary(self) -> dict[str, Any]:
        """The manifest's `changes` key: what was compared and how much changed (every entry is in changes.json)."""
        return {
            "baseline_run": self.baseline.as_json(),
            "end_run": self.end.as_json(),
            "baseline_in_period": self.baseline_in_period,
            "counts": {
                "control_status_changes": len(self.controls),
                "newly_failing": len(self.new_failures),
                "resolved": len(self.resolved),
                "customer_changes": len(self.customer),
            },
            "lookup_runs": list(self.lookup_runs),
            "file": self.file_name,
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "period": {"from": rfc3339(self.since), "to": rfc3339(self.until)},
            **self.summary(),
            "control_status_changes": [
                {
                    "control_id": c.control_id,
                    "title": c.title,
                    "before": c.before.value,
                    "after": c.after.value,
                    "reason": c.reason,
                    "causes": list(c.causes),
                }
                for c in self.controls
            ],
            "newly_failing": [f.as_json() for f in self.new_failures],
            "resolved": [f.as_json() for f in self.resolved],
            "customer_changes": [
                {
                    "kind": c.kind,
                    "id": c.id,
                    "title": c.title,
                    "event": c.event,
                    "at": rfc3339(c.at),
                    "actor": c.actor,
                    "controls": list(c.controls),
                }
                for c in self.customer
            ],
            "notes": list(self.notes),
        }

    def export(self, writer: WriterFactory) -> ExportedFile:
        out = writer(CHANGES_FILE, CHANGES_DESCRIPTION)
        out.write(json.dumps(self.as_json(), indent=1, ensure_ascii=False).encode("utf-8"))
        return out.finish()

    def context(self, limit: int) -> dict[str, Any]:
        """What `_changes.html` prints: the first `limit` rows of each list, and how many more changes.json holds."""

        def cut(rows: Sequence[Any]) -> dict[str, Any]:
            return {"rows": rows[:limit], "hidden": max(0, len(rows) - limit), "total": len(rows)}

        return {
            "changes": {
                "since": self.since,
                "until": self.until,
                "baseline": self.baseline,
                "end": self.end,
                "baseline_in_period": self.baseline_in_period,
                "compared": self.compared,
                "controls": cut(self.controls),
                "new_failures": cut(self.new_failures),
                "resolved": cut(self.resolved),
                "customer": cut(self.customer),
                "lookup_runs": self.lookup_runs,
                "file": self.file_name,
                "notes": self.notes,
            }
        }


def _lookups(
    store: EvidenceStore, run_ids: Iterable[int], wanted: set[tuple[str, str, str]]
) -> tuple[dict[tuple[str, str, str], list[ChangeLookup]], dict[tuple[str, str], list[str]]]:
    """The period's change lookups of the wanted resources: what each run recorded, and failed lookups (gaps)."""
    found: dict[tuple[str, str, str], list[ChangeLookup]] = {}
    failed: dict[tuple[str, str], list[str]] = {}
    accounts_resources = {(a, r) for a, _, r in wanted}
    for run_id in run_ids:
        for item in store.iter_evidence(run_id, kinds={CHANGE_EVENTS}):
            key = (item.account_id, item.region, item.resource_id)
            if key in wanted and isinstance(item.payload, dict):
                found.setdefault(key, []).append(ChangeLookup.from_payload(item.payload, item.sha256))
        for gap in store.gaps(run_id):
            if gap.kind == CHANGE_EVENTS and (gap.account_id, gap.resource_id) in accounts_resources:
                failed.setdefault((gap.account_id, str(gap.resource_id)), []).append(
                    f"run {run_id}: {gap.error_code}: {gap.message}"
                )
    return found, failed


def period_changes(
    store: EvidenceStore,
    *,
    catalog: Catalog,
    since: datetime,
    until: datetime,
    baseline: Run,
    baseline_status: FrameworkStatus,
    end: Run,
    end_status: FrameworkStatus,
    customer: CustomerEvidence,
    period_runs: Sequence[RunRef],
    accounts: Collection[str] | None = None,
) -> PeriodChanges:
    """What changed over (since, until]: `baseline` and `end` are runs whose stored findings were verified against
    their evidence by the caller; `period_runs` the period's runs (whose CloudTrail lookups name who changed what)."""
    notes: list[str] = []
    in_period = baseline.finished_at is not None and baseline.finished_at > since
    if in_period:
        notes.append(
            f"No run finished before the period: changes are counted from its first run ({baseline.id}); what "
            "changed before that run is not shown."
        )
    new_failures: list[FindingEntry] = []
    resolved: list[FindingEntry] = []
    lookup_runs: tuple[int, ...] = ()
    if baseline.id != end.id:
        checks = {check.id for control in catalog.controls for check in control.checks}
        diff = RunDiff.open(store, baseline.id, end.id, accounts=accounts, check_ids=checks)
        for resource in diff.resources():
            for change in resource.findings:
                entry = FindingEntry(
                    change.check_id,
                    resource.account_id,
                    resource.region,
                    resource.resource_id,
                    change.reason,
                    change.before,
                    change.after,
                )
                if change.change is FindingChangeKind.NEWLY_FAILING:
                    new_failures.append(entry)
                elif change.change is FindingChangeKind.RESOLVED:
                    resolved.append(entry)
        assert baseline.finished_at is not None and end.finished_at is not None  # sealed runs
        lookup_runs = tuple(
            ref.id
            for ref in period_runs
            if ref.finished_at is not None and baseline.finished_at < ref.finished_at <= end.finished_at
        )
        wanted = {(f.account_id, f.region, f.resource_id) for f in new_failures}
        found, failed = _lookups(store, lookup_runs, wanted)
        new_failures = [_attributed(f, found, failed) for f in new_failures]
        if diff.places_only_before or diff.places_only_after:
            places = [f"{a}/{r}" for a, r in (*diff.places_only_before, *diff.places_only_after)]
            notes.append(f"Collected in only one of the two runs, so not compared: {', '.join(places)}.")
    return PeriodChanges(
        since=since,
        until=until,
        baseline=RunInfo.of(baseline),
        end=RunInfo.of(end),
        baseline_in_period=in_period,
        controls=control_changes(baseline_status, end_status, customer),
        new_failures=tuple(new_failures),
        resolved=tuple(resolved),
        customer=tuple(
            c for c in customer_changes(catalog, customer, since=since, until=until) if (c.kind, c.event) in REPORTED
        ),
        lookup_runs=lookup_runs,
        notes=tuple(notes),
    )


def _attributed(
    entry: FindingEntry,
    found: dict[tuple[str, str, str], list[ChangeLookup]],
    failed: dict[tuple[str, str], list[str]],
) -> FindingEntry:
    lookups = found.get((entry.account_id, entry.region, entry.resource_id), [])
    events = tuple(e for lookup in lookups for e in lookup.events)
    actors = tuple(dict.fromkeys(actor for lookup in lookups for actor in lookup.actors))
    return replace(
        entry,
        actors=actors,
        events=events,
        lookup_failed=tuple(failed.get((entry.account_id, entry.resource_id), ())),
        looked_up=bool(lookups),
    )
