"""What the pages show, read through the API's services and sources. Nothing here decides a status, a state or
who may see what: `frameworks` evaluated the statuses, `evidence.customer` the states, `api.services` the scope.
This module selects, groups and orders what they answered, for one page."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from api.context import ApiContext
from api.errors import NotConfiguredError
from api.principal import Principal
from api.services import runs
from api.services.runs import RunView
from api.sources import FindingFilter, FindingsSource, FrameworksSource, StoredFinding
from api.ui.customer_snapshot import Snapshot
from evidence.checks.types import Finding, FindingStatus
from evidence.customer.types import CustomerEvidence, CustomerItem, ExceptionState, ItemState, RiskException
from evidence.models import RunStatus
from frameworks import expiring
from frameworks.results import ControlResult, FrameworkStatus
from frameworks.schema import Catalog

TREND_RUNS = 30
ATTENTION = frozenset({RunStatus.FAILED.value, RunStatus.PARTIAL.value, RunStatus.INTERRUPTED.value})
USABLE = frozenset(status.value for status in RunStatus.usable())


def frameworks_source(context: ApiContext) -> FrameworksSource:
    if context.frameworks is None:
        raise NotConfiguredError("this deployment has no framework catalogs configured")
    return context.frameworks


def findings_source(context: ApiContext) -> FindingsSource:
    if context.findings is None:
        raise NotConfiguredError("this deployment has no findings store configured")
    return context.findings


# -- the dashboard -------------------------------------------------------------------------------------------


def recent_runs(session: Session, principal: Principal, limit: int = TREND_RUNS) -> list[RunView]:
    return runs.list_runs(session, principal=principal, limit=limit, before_id=None)


def expiring_soon(customer: Snapshot, now: datetime) -> dict[str, list[dict[str, object]]]:
    """Approved items and active exceptions lapsing within 30 days (the rule is `frameworks.expiring`'s)."""
    return customer.at("expiring", now, lambda: expiring.soon(customer.evidence, now))


@dataclass(frozen=True, slots=True)
class ReviewQueue:
    items: list[CustomerItem]
    exceptions: list[RiskException]
    item_count: int  # all of them; the lists hold the oldest `limit`
    exception_count: int


def _visible_items(items: Iterable[CustomerItem], principal: Principal) -> Iterable[CustomerItem]:
    allowed = principal.item_ids
    return items if allowed is None else (item for item in items if item.id in allowed)


def _visible_exceptions(customer: CustomerEvidence, principal: Principal) -> Iterable[RiskException]:
    allowed = principal.exception_ids
    return customer.exceptions if allowed is None else (e for e in customer.exceptions if e.id in allowed)


def review_queue(customer: Snapshot, principal: Principal, now: datetime, limit: int = 100) -> ReviewQueue:
    """Submitted items and requested exceptions, oldest first (the reviewer is never the submitter: the
    service refuses that, the page marks them)."""

    def derive() -> ReviewQueue:
        evidence = customer.evidence
        items = [i for i in _visible_items(evidence.items, principal) if i.state_as_of(now) is ItemState.SUBMITTED]
        exceptions = [
            e for e in _visible_exceptions(evidence, principal) if e.state_as_of(now) is ExceptionState.REQUESTED
        ]
        return ReviewQueue(items[:limit], exceptions[:limit], len(items), len(exceptions))

    if principal.item_ids is not None or principal.exception_ids is not None:
        return derive()  # a reader with a narrower scope: not shared
    return customer.at(("review", limit), now, derive)


# -- controls --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ControlFilter:
    status: str | None = None
    responsibility: str | None = None
    family: str | None = None
    service: str | None = None
    owner: str | None = None
    q: str | None = None

    def keep(self, control: ControlResult, facets: ControlFacets) -> bool:
        if control.heading:
            return False
        if self.status and control.status.value != self.status:
            return False
        if self.responsibility and control.overall_responsibility.value != self.responsibility:
            return False
        if self.family and control.family_id != self.family:
            return False
        if self.service and self.service not in control.responsibility:
            return False
        if self.owner and self.owner not in facets.owners_of.get(control.control_id, ()):
            return False
        if self.q:
            words = self.q.lower().split()
            text = f"{control.control_id} {control.title} {control.description}".lower()
            return all(word in text for word in words)
        return True


def failing_findings(control: ControlResult) -> list[Finding]:
    return [finding for verdict in control.checks for finding in verdict.failing]


def control_owners(control: ControlResult) -> set[str]:
    """The owners of the resources failing this control's checks."""
    return {finding.owner for finding in failing_findings(control) if finding.owner}


@dataclass(frozen=True, slots=True)
class ControlFacets:
    families: list[tuple[str, str]]
    services: list[str]
    owners: list[str]
    owners_of: dict[str, frozenset[str]]  # per control: the owners of its failing resources


def facets(status: FrameworkStatus) -> ControlFacets:
    families: dict[str, str] = {}
    owners_of: dict[str, frozenset[str]] = {}
    for control in status.controls:
        if not control.heading:
            families.setdefault(control.family_id, control.family_title)
            owners_of[control.control_id] = frozenset(control_owners(control))
    owners = sorted(set().union(*owners_of.values()))
    return ControlFacets(sorted(families.items()), sorted(status.services_in_use), owners, owners_of)


class FacetsCache:
    """Facets read every failing finding of a framework (hundreds of thousands on a large store): computed once
    per evaluated status, which the status board keeps until it is evaluated again."""

    def __init__(self, max_entries: int = 8) -> None:
        self._entries: OrderedDict[int, tuple[FrameworkStatus, ControlFacets]] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def get(self, status: FrameworkStatus) -> ControlFacets:
        with self._lock:
            entry = self._entries.get(id(status))
            if entry is not None and entry[0] is status:  # the entry holds the status: its id is not reused
                self._entries.move_to_end(id(status))
                return entry[1]
        found = facets(status)
        with self._lock:
            self._entries[id(status)] = (status, found)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return found


def find_control(status: FrameworkStatus, control_id: str) -> ControlResult | None:
    return next((c for c in status.controls if c.control_id == control_id), None)


def control_exceptions(
    customer: Snapshot, principal: Principal, catalog: Catalog, control: ControlResult, now: datetime
) -> list[RiskException]:
    """Exceptions naming this control, or one of its checks (every state, newest first)."""
    ref = f"{catalog.id}:{control.control_id}"
    checks = {verdict.check_id for verdict in control.checks}
    found = [
        e
        for e in _visible_exceptions(customer.evidence, principal)
        if e.requested_at <= now and ((e.check_id is not None and e.check_id in checks) or str(e.control) == ref)
    ]
    return sorted(found, key=lambda row: row.id, reverse=True)


def control_items(
    customer: Snapshot, principal: Principal, framework_id: str, control_id: str, now: datetime
) -> list[CustomerItem]:
    """Items naming this control (every state, newest first)."""
    named = customer.by_control.get(f"{framework_id}:{control_id}", ())
    return [item for item in _visible_items(named, principal) if item.submitted_at <= now]


# -- resources and owners ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResourceRun:
    run: RunView
    findings: list[StoredFinding]


def resource_history(source: FindingsSource, resource_id: str, recent: Iterable[RunView]) -> list[ResourceRun]:
    """The resource's verdicts in each of the recent usable runs, newest first."""
    history = []
    for view in recent:
        if view.run.status not in USABLE:
            continue
        found = source.page(
            filters=FindingFilter(run_id=view.run.id, resource_id=resource_id), after_id=None, limit=500
        )
        history.append(ResourceRun(view, list(found.items)))
    return history


OWNER_SCAN_LIMIT = 20_000


@dataclass(slots=True)
class OwnerRow:
    owner: str
    failing: list[Finding] = field(default_factory=list)
    expiring_items: list[CustomerItem] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class OwnersView:
    run_id: int | None
    owners: list[OwnerRow]
    truncated: bool  # more failing findings than were read


def owners(context: ApiContext, customer: Snapshot, principal: Principal, now: datetime) -> OwnersView:
    """Per owner: the resources failing a check in the latest usable run, and the owner's approved evidence items
    expiring within 30 days. Findings without an owner are grouped under '(no owner)'."""
    source = findings_source(context)
    rows: dict[str, OwnerRow] = {}
    after: int | None = None
    read = 0
    run_id: int | None = None
    while read < OWNER_SCAN_LIMIT:
        page = source.page(filters=FindingFilter(status=FindingStatus.FAIL, run_id=run_id), after_id=after, limit=1000)
        run_id = page.run_id
        if not page.items or run_id is None:
            break
        for stored in page.items:
            owner = stored.finding.owner or "(no owner)"
            rows.setdefault(owner, OwnerRow(owner)).failing.append(stored.finding)
        read += len(page.items)
        after = page.items[-1].id
        if len(page.items) < 1000:
            break
    truncated = read >= OWNER_SCAN_LIMIT
    lapsing = {entry["id"] for entry in expiring_soon(customer, now)["items"]}
    for item in _visible_items(customer.evidence.items, principal):
        if item.id in lapsing:
            rows.setdefault(item.owner, OwnerRow(item.owner)).expiring_items.append(item)
    ordered = sorted(rows.values(), key=lambda row: (-len(row.failing), -len(row.expiring_items), row.owner))
    return OwnersView(run_id, ordered, truncated)
