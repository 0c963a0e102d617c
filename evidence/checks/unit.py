"""Checks as units: a check is one function in the module named for its id prefix, its metadata beside it.

`evidence/checks/rds.py` holds every `rds.*` check and `evidence/checks/rds.yaml` their metadata, keyed by the part of
the id after the prefix. The decorator binds the id (module prefix + function name), so no check repeats it, and it
passes gap and error findings through, so a check body sees only records:

    @each("rds.db_instance", resource_type="db-instance", what="DB instance details")
    def backup_retention(c: Check, db: EvidenceRecord) -> Finding:
        days = db.payload.get("BackupRetentionPeriod") or 0
        if days >= c.thresholds.rds_backup_retention_min_days:
            return c.passed(db, f"automated backups are kept for {days} days")
        return c.failed(db, f"automated backups are kept for {days} days")

The forms:
- `each(kind, ...)`: the body is called once per resource of `kind` that a completed listing names; places whose
  listing did not complete, and listed resources without their evidence, become `error` findings without the body
  seeing them.
- `per_account(...)`: once per account in scope; `per_region(...)`: once per (account, region) collected.
- `custom(kinds=..., regional=...)`: the body yields findings itself, reading through `c.records(...)` (records only)
  and guarding each item with `with c.item():`.

Inside any body, `c.need(...)`, `c.setting(...)` and `c.account_setting(...)` return the evidence asked for or raise
`Unavailable`, which the decorator (or `c.item()`) turns into the `error` finding that stands in for it. A missing
piece of evidence is therefore never a pass, and no body has to remember to say so.

A check that folds several items into one verdict ("some trail qualifies") needs to know what is missing, since a
missing item might have qualified: `c.attempt(missing, c.need, ...)` and `c.records(..., missing=missing)` collect
those errors unreported, and `c.incomplete(reason, missing, ...)` is the `error` verdict resting on them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from evidence.checks.types import Finding, FindingStatus
from evidence.checks.verdicts import (
    ERROR,
    FAIL,
    NA,
    PASS,
    coverage_errors,
    gap_error,
    listed_records,
    missing_error,
    needed,
    place_setting,
    verdict,
)
from evidence.checks.view import GLOBAL, EvidenceView, GapRecord, Listed
from evidence.store import EvidenceRecord

if TYPE_CHECKING:
    from evidence.checks.thresholds import Thresholds

PACKAGE = "evidence.checks"
Outcome = Finding | Iterable[Finding] | None


class Unavailable(Exception):  # a control-flow signal carrying its finding, not an error to report
    """The evidence a check asked for is a gap or was never collected; `finding` is the error standing in for it."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.reason)
        self.finding = finding


@dataclass
class Check:
    """What a check body works with: its id, the run's evidence, the thresholds and the moment judged at."""

    id: str
    view: EvidenceView
    thresholds: Thresholds
    now: datetime
    _errors: list[Finding] = field(default_factory=list)

    # -- verdicts ------------------------------------------------------------------------------------------------

    def verdict(
        self,
        status: FindingStatus,
        record: EvidenceRecord,
        reason: str,
        *,
        also: Iterable[EvidenceRecord | None] = (),
        resource_id: str | None = None,
        resource_type: str | None = None,
        region: str | None = None,
    ) -> Finding:
        return verdict(
            self.id,
            status,
            record,
            reason,
            also=also,
            resource_id=resource_id,
            resource_type=resource_type,
            region=region,
        )

    def passed(self, record: EvidenceRecord, reason: str, **kwargs: Any) -> Finding:
        return self.verdict(PASS, record, reason, **kwargs)

    def failed(self, record: EvidenceRecord, reason: str, **kwargs: Any) -> Finding:
        return self.verdict(FAIL, record, reason, **kwargs)

    def not_applicable(self, record: EvidenceRecord, reason: str, **kwargs: Any) -> Finding:
        return self.verdict(NA, record, reason, **kwargs)

    def error(self, record: EvidenceRecord, reason: str, **kwargs: Any) -> Finding:
        """`error` resting on a record that is present but cannot be judged (a field missing, a value unreadable)."""
        return self.verdict(ERROR, record, reason, **kwargs)

    # -- evidence a body needs beyond the item it was given -----------------------------------------------------

    def need(
        self,
        kind: str,
        *,
        base: EvidenceRecord,
        what: str,
        resource_id: str | None = None,
        resource_type: str | None = None,
        key: str | None = None,
    ) -> EvidenceRecord:
        """The evidence of `kind` about `base`'s resource (or `resource_id` in base's account), else Unavailable.

        key: the id the evidence is stored under when it is not the resource judged (a bucket's account-wide
        setting, an instance's parameter group); a missing one is then an error about the resource judged."""
        found = needed(
            self.view,
            self.id,
            kind,
            account_id=base.account_id,
            resource_id=key or resource_id or base.resource_id,
            resource_type=resource_type or base.resource_type,
            region=base.region,
            what=what,
            base=base,
        )
        if isinstance(found, Finding):
            if key is not None:
                found = replace(found, resource_id=resource_id or base.resource_id)
            raise Unavailable(found)
        return found

    def listing(
        self, kind: str, account_id: str, region: str, *, resource_id: str, resource_type: str, what: str
    ) -> EvidenceRecord:
        """The completed listing of `kind` in (account, region), else Unavailable (the gap, or nothing collected)."""
        listing = self.view.listing(kind, account_id, region)
        if listing is not None:
            return listing
        gaps = self.view.gaps(kind, account_id=account_id, region=region, resource_id=None)
        gaps = gaps or self.view.collector_gaps(account_id, region)
        raise self._unavailable(
            gaps, account_id, region, resource_id=resource_id, resource_type=resource_type, what=what
        )

    def setting(
        self, kind: str, account_id: str, region: str, *, resource_id: str, resource_type: str, what: str
    ) -> EvidenceRecord:
        """The single evidence item of `kind` for (account, region), else Unavailable."""
        found = place_setting(
            self.view,
            self.id,
            kind,
            account_id=account_id,
            region=region,
            resource_id=resource_id,
            resource_type=resource_type,
            what=what,
        )
        if isinstance(found, Finding):
            raise Unavailable(found)
        return found

    def account_setting(
        self, kind: str, account_id: str, *, resource_id: str, resource_type: str, what: str
    ) -> EvidenceRecord:
        """An account-wide (global) evidence item of `kind` stored under `resource_id`, else Unavailable."""
        record = self.view.one(kind, account_id, resource_id)
        if record is not None:
            return record
        gaps = self.view.gaps(kind, account_id=account_id) or self.view.collector_gaps(account_id, GLOBAL)
        raise self._unavailable(
            gaps, account_id, GLOBAL, resource_id=resource_id, resource_type=resource_type, what=what
        )

    def _unavailable(
        self, gaps: list[GapRecord], account_id: str, region: str, *, resource_id: str, resource_type: str, what: str
    ) -> Unavailable:
        """The error standing in for missing evidence: the first gap that explains it, else "never collected"."""
        place = {"account_id": account_id, "region": region, "resource_id": resource_id, "resource_type": resource_type}
        if gaps:
            return Unavailable(gap_error(self.id, gaps[0], **place))
        return Unavailable(missing_error(self.id, what=what, **place))

    # -- for custom bodies ----------------------------------------------------------------------------------------

    def records(
        self,
        kind: str,
        *,
        resource_type: str,
        what: str,
        regional: bool = True,
        missing: list[Finding] | None = None,
    ) -> Iterator[EvidenceRecord]:
        """Every listed resource of `kind` with its evidence; the errors for the rest go out without the body.

        missing: collect those errors here instead, unreported, as they are met (for a check that folds them into
        one verdict per account: a trail whose evidence is missing might have been the qualifying one)."""
        errors = self._errors if missing is None else missing
        for item in listed_records(self.view, self.id, kind, resource_type=resource_type, what=what, regional=regional):
            if isinstance(item, Finding):
                errors.append(item)
            else:
                yield item

    def listed(self, kind: str, *, resource_type: str, regional: bool = True) -> Iterator[Listed]:
        """Every resource of `kind` a completed listing names (for a check reading other kinds about it); the
        errors for places whose listing did not complete go out without the body."""
        self._errors.extend(coverage_errors(self.view, self.id, kind, regional=regional, resource_type=resource_type))
        yield from self.view.listed(kind)

    def attempt(
        self, missing: list[Finding], get: Callable[..., EvidenceRecord], /, *args: Any, **kwargs: Any
    ) -> EvidenceRecord | None:
        """`get(*args, **kwargs)` (need, setting, ...), or None with the error standing in for its evidence added
        to `missing`, unreported: for a check that folds what is missing into one verdict."""
        try:
            return get(*args, **kwargs)
        except Unavailable as gone:
            missing.append(gone.finding)
            return None

    def absent(self, *, account_id: str, region: str, resource_id: str, resource_type: str, what: str) -> Finding:
        """`error`: nothing the verdict could rest on was collected, and no gap explains why."""
        return missing_error(
            self.id,
            account_id=account_id,
            region=region,
            resource_id=resource_id,
            resource_type=resource_type,
            what=what,
        )

    def incomplete(
        self,
        reason: str,
        missing: Sequence[Finding],
        *,
        basis: Iterable[EvidenceRecord],
        account_id: str,
        region: str,
        resource_id: str,
        resource_type: str,
    ) -> Finding:
        """`error` for a verdict over several items that none present decides and a missing one might have: it
        rests on `basis` and is as old as the first missing item."""
        return Finding(
            check_id=self.id,
            status=ERROR,
            account_id=account_id,
            region=region,
            resource_id=resource_id,
            reason=f"{reason} ({missing[0].reason})",
            evidence=tuple(dict.fromkeys(r.sha256 for r in basis)),
            observed_at=missing[0].observed_at,
            resource_type=resource_type,
        )

    @contextmanager
    def item(self) -> Iterator[None]:
        """Judge one item: an Unavailable raised inside becomes that item's error finding, and the loop goes on."""
        try:
            yield
        except Unavailable as missing:
            self._errors.append(missing.finding)

    def drain(self) -> list[Finding]:
        errors, self._errors = self._errors, []
        return errors


# -- registration ----------------------------------------------------------------------------------------------------

Runner = Callable[[EvidenceView, "Thresholds", datetime], Iterator[Finding]]


@dataclass(frozen=True, slots=True)
class Unit:
    """A decorated check before the registry pairs it with its metadata."""

    id: str
    run: Runner
    kinds: frozenset[str]
    regional: bool
    body: Callable[..., Any]


_UNITS: dict[str, Unit] = {}


def _id_of(fn: Callable[..., Any]) -> str:
    module = fn.__module__
    if not module.startswith(PACKAGE + "."):
        raise ValueError(f"{module}.{fn.__name__}: checks live in {PACKAGE}.<prefix> modules")
    prefix = module.rsplit(".", 1)[1]
    return f"{prefix}.{fn.__name__}"


def _outcomes(outcome: Outcome) -> Iterable[Finding]:
    if outcome is None:
        return ()
    if isinstance(outcome, Finding):
        return (outcome,)
    return outcome


def _judge(c: Check, body: Callable[..., Outcome], *args: Any) -> Iterator[Finding]:
    """The body's findings for one item; an Unavailable (even mid-way through a generator) becomes its error."""
    produced: list[Finding] = []
    try:
        produced.extend(_outcomes(body(c, *args)))
    except Unavailable as missing:
        produced.append(missing.finding)
    yield from produced
    yield from c.drain()


def _register(
    body: Callable[..., Any], run: Callable[[Check], Iterator[Finding]], kinds: Iterable[str], regional: bool
) -> Any:
    check_id = _id_of(body)

    def runner(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
        c = Check(id=check_id, view=view, thresholds=thresholds, now=now)
        yield from run(c)
        yield from c.drain()

    existing = _UNITS.get(check_id)
    if existing is not None and existing.body is not body:
        raise ValueError(f"check {check_id!r} is defined twice: {existing.body.__qualname__} and {body.__qualname__}")
    _UNITS[check_id] = Unit(id=check_id, run=runner, kinds=frozenset(kinds), regional=regional, body=body)
    return body


def each(
    kind: str,
    *,
    resource_type: str,
    what: str,
    regional: bool = True,
    reads: Iterable[str] = (),
    empty: str | None = None,
) -> Callable[[Callable[[Check, EvidenceRecord], Outcome]], Callable[[Check, EvidenceRecord], Outcome]]:
    """A check judging every listed resource of `kind` (`reads`: the other kinds its body asks for with need).

    empty: the reason of a `not_applicable` finding for each place whose complete listing found nothing (the
    check was applied there and had nothing to judge; this rests on the listing, it is not silence)."""

    def decorate(body: Callable[[Check, EvidenceRecord], Outcome]) -> Callable[[Check, EvidenceRecord], Outcome]:
        def run(c: Check) -> Iterator[Finding]:
            if empty is not None:
                for listing in c.view.listings(kind):
                    if not listing.payload.get("resource_ids"):
                        yield verdict(c.id, NA, listing, empty, resource_type=kind)
            for item in listed_records(c.view, c.id, kind, resource_type=resource_type, what=what, regional=regional):
                if isinstance(item, Finding):
                    yield item
                else:
                    yield from _judge(c, body, item)

        return _register(body, run, (kind, *reads), regional)

    return decorate


def per_account(
    *, reads: Iterable[str]
) -> Callable[[Callable[[Check, str], Outcome]], Callable[[Check, str], Outcome]]:
    """A check judging each account in scope once (account-wide settings, global services)."""

    def decorate(body: Callable[[Check, str], Outcome]) -> Callable[[Check, str], Outcome]:
        def run(c: Check) -> Iterator[Finding]:
            for account_id in c.view.accounts():
                yield from _judge(c, body, account_id)

        return _register(body, run, reads, False)

    return decorate


def per_region(
    *, reads: Iterable[str]
) -> Callable[[Callable[[Check, str, str], Outcome]], Callable[[Check, str, str], Outcome]]:
    """A check judging each (account, region) collected once (regional settings such as a detector)."""

    def decorate(body: Callable[[Check, str, str], Outcome]) -> Callable[[Check, str, str], Outcome]:
        def run(c: Check) -> Iterator[Finding]:
            for account_id, region in c.view.targets():
                yield from _judge(c, body, account_id, region)

        return _register(body, run, reads, True)

    return decorate


def custom(
    *, kinds: Iterable[str], regional: bool
) -> Callable[[Callable[[Check], Iterable[Finding]]], Callable[[Check], Iterable[Finding]]]:
    """A check that walks the evidence itself; errors from `c.records` and `c.item()` are passed through for it."""

    def decorate(body: Callable[[Check], Iterable[Finding]]) -> Callable[[Check], Iterable[Finding]]:
        def run(c: Check) -> Iterator[Finding]:
            for finding in body(c):
                yield from c.drain()
                yield finding

        return _register(body, run, kinds, regional)

    return decorate


def units() -> dict[str, Unit]:
    return dict(_UNITS)
