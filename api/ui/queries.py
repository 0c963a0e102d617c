"""What the pages show, read through the API's services and sources. Nothing here decides a status, a state or
who may see what: `frameworks` evaluated the statuses, `evidence.customer` the states, `api.services` the scope.
This module selects, groups and orders what they answered, for one page."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from api.context import ApiContext
from api.errors import NotConfiguredError
from api.principal import Principal
from api.services import customer, runs
from api.services.runs import RunView
from api.sources import FindingFilter, FindingsSource, FrameworksSource, StoredFinding
from evidence.checks.types import Finding, FindingStatus
from evidence.customer import service
from evidence.customer.types import CustomerItem, ExceptionState, ItemState, RiskException
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


@dataclass(frozen=True, slots=True)
class TrendPoint:
    run: RunView
    by_status: dict[str, int]  # empty: the run is not usable (failed, interrupted): no status rests on it


class TrendCache:
    """A framework's status as it stood when each run was sealed does not change (the run is sealed, the customer
    ledger only appends): each (framework, run, finish) is evaluated once per process, on first view."""

    def __init__(self, max_entries: int = 512) -> None:
        self._entries: OrderedDict[tuple[str, int, datetime], dict[str, int]] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int, datetime], compute: Callable[[], dict[str, int]]) -> dict[str, int]:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = compute()
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return value


def recent_runs(session: Session, principal: Principal, limit: int = TREND_RUNS) -> list[RunView]:
    return runs.list_runs(session, principal=principal, limit=limit, before_id=None)


def trend(
    source: FrameworksSource, framework_id: str, recent: Sequence[RunView], cache: TrendCache
) -> list[TrendPoint]:
    """Oldest first: each run's counts by overall status, evaluated as of the moment the run finished."""
    points = []
    for view in reversed(recent):
        run = view.run
        if run.status not in USABLE or run.finished_at is None:
            points.append(TrendPoint(view, {}))
            continue
        finished = run.finished_at
        counts = cache.get(
            (framework_id, run.id, finished),
            lambda finished=finished: dict(source.status(framework_id, as_of=finished).by_status),
        )
        points.append(TrendPoint(view, counts))
    return points


def expiring_soon(context: ApiContext, now: datetime) -> dict[str, list[dict[str, object]]]:
    """Approved items and active exceptions lapsing within 30 days (the rule is `frameworks.expiring`'s)."""
    return expiring.soon(service.customer_evidence(context.engine, as_of=now), now)


@dataclass(frozen=True, slots=True)
class ReviewQueue:
    items: list[CustomerItem]
    exceptions: list[RiskException]


def review_queue(context: ApiContext, principal: Principal, now: datetime, limit: int = 100) -> ReviewQueue:
    """Submitted items and requested exceptions, oldest first (the reviewer is never the submitter: the
    service refuses that, the page marks them)."""
    items, _, _ = customer.list_items(
        context.engine,
        filters=customer.ItemFilter(state=ItemState.SUBMITTED),
        principal=principal,
        limit=limit,
        cursor=None,
        codec=context.cursors,
        now=now,
    )
    exceptions, _, _ = customer.list_exceptions(
        context.engine,
        filters=customer.ExceptionFilter(state=ExceptionState.REQUESTED),
        principal=principal,
        limit=limit,
        cursor=None,
        codec=context.cursors,
        now=now,
    )
    return ReviewQueue(items, exceptions)


# -- controls --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ControlFilter:
    status: str | None = None
    responsibility: str | None = None
    family: str | None = None
    service: str | None = None
    owner: str | None = None
    q: str | None = None

    def keep(self, control: ControlResult) -> bool:
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
        if self.owner and self.owner not in control_owners(control):
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


def facets(status: FrameworkStatus) -> ControlFacets:
    families: dict[str, str] = {}
    owners: set[str] = set()
    for control in status.controls:
        if not control.heading:
            families.setdefault(control.family_id, control.family_title)
            owners |= control_owners(control)
    return ControlFacets(sorted(families.items()), sorted(status.services_in_use), sorted(owners))


def find_control(status: FrameworkStatus, control_id: str) -> ControlResult | None:
    return next((c for c in status.controls if c.control_id == control_id), None)


def control_exceptions(
    context: ApiContext, principal: Principal, catalog: Catalog, control: ControlResult, now: datetime
) -> list[RiskException]:
    """Exceptions naming this control, or one of its checks (every state, newest first)."""
    ref = f"{catalog.id}:{control.control_id}"
    checks = {verdict.check_id for verdict in control.checks}
    found: dict[int, RiskException] = {}
    cursor = None
    while True:  # every exception, in pages: one names a check or a control, and the filter knows only checks
        rows, _, cursor = customer.list_exceptions(
            context.engine,
            filters=customer.ExceptionFilter(),
            principal=principal,
            limit=500,
            cursor=cursor,
            codec=context.cursors,
            now=now,
        )
        for row in rows:
            if (row.check_id is not None and row.check_id in checks) or str(row.control) == ref:
                found[row.id] = row
        if cursor is None:
            break
    return sorted(found.values(), key=lambda row: row.id, reverse=True)


def control_items(
    context: ApiContext, principal: Principal, framework_id: str, control_id: str, now: datetime
) -> list[CustomerItem]:
    items: list[CustomerItem] = []
    cursor = None
    while True:
        rows, _, cursor = customer.list_items(
            context.engine,
            filters=customer.ItemFilter(control=f"{framework_id}:{control_id}"),
            principal=principal,
            limit=500,
            cursor=cursor,
            codec=context.cursors,
            now=now,
        )
        items.extend(rows)
        if cursor is None:
            return sorted(items, key=lambda item: item.id, reverse=True)


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


def owners(context: ApiContext, principal: Principal, now: datetime) -> OwnersView:
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
    cursor = None
    while True:
        items, _, cursor = customer.list_items(
            context.engine,
            filters=customer.ItemFilter(expiring_within=timedelta(days=expiring.WINDOW.days)),
            principal=principal,
            limit=500,
            cursor=cursor,
            codec=context.cursors,
            now=now,
        )
        for item in items:
            rows.setdefault(item.owner, OwnerRow(item.owner)).expiring_items.append(item)
        if cursor is None:
            break
    ordered = sorted(rows.values(), key=lambda row: (-len(row.failing), -len(row.expiring_items), row.owner))
    return OwnersView(run_id, ordered, truncated)
