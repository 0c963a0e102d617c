"""Drift between two runs for the API: which runs (as the caller may see them), one page of the streamed diff, and
control status changes per framework.

An auditor diffs only runs its packets rest on, within the accounts both runs show it; officers see everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from api.principal import Principal
from api.services.runs import get_run
from api.sources import FrameworksSource
from core.errors import ConflictError, NotFoundError
from evidence.customer.service import customer_evidence
from evidence.diff.engine import RunDiff, previous_run
from evidence.diff.order import ResourceKey
from evidence.diff.types import ResourceDiff
from evidence.models import Run, RunStatus
from evidence.store import EvidenceStore
from frameworks.drift import ControlChange, CustomerChange, control_changes, customer_changes
from frameworks.results import FrameworkStatus


def run_pair(
    session: Session, store: EvidenceStore, *, run_id: int, against: int | None, principal: Principal
) -> tuple[Run, Run]:
    """(older, newer): `against` and `run_id`; without `against`, the run before `run_id` (same scope preferred)."""
    newer = get_run(session, run_id=run_id, principal=principal)
    if against is None:
        older = previous_run(store, newer)
        if older is None or not principal.may_see_run(older.id):
            raise NotFoundError(f"run {run_id} has no earlier complete or partial run to compare with")
    else:
        older = get_run(session, run_id=against, principal=principal)
    if older.id == newer.id:
        raise ConflictError(f"run {run_id} compared with itself: give another run as `against`")
    for run in (older, newer):
        if run.status == RunStatus.RUNNING.value:
            raise ConflictError(f"run {run.id} is still running: a diff compares sealed runs")
    return older, newer


def visible_accounts(principal: Principal, older: Run, newer: Run) -> frozenset[str] | None:
    """The accounts the caller may compare: None for all; an auditor's accounts of both runs otherwise."""
    first, second = principal.accounts_in_run(older.id), principal.accounts_in_run(newer.id)
    if first is None:
        return second
    if second is None:
        return first
    return first & second


@dataclass(frozen=True, slots=True)
class DiffSlice:
    diff: RunDiff
    items: Sequence[ResourceDiff]
    next_key: ResourceKey | None  # where the next page starts (None: this was the last)


def diff_page(
    store: EvidenceStore,
    older: Run,
    newer: Run,
    *,
    accounts: frozenset[str] | None,
    after: ResourceKey | None,
    limit: int,
) -> DiffSlice:
    diff = RunDiff.open(store, older.id, newer.id, accounts=accounts)
    items: list[ResourceDiff] = []
    more = False
    for resource in diff.resources(after=after):
        if len(items) == limit:
            more = True
            break
        items.append(resource)
    return DiffSlice(diff=diff, items=items, next_key=items[-1].key if more else None)


@dataclass(frozen=True, slots=True)
class ControlDrift:
    compared: bool
    note: str | None
    changes: tuple[ControlChange, ...] = ()
    customer: tuple[CustomerChange, ...] = ()


def _status(source: FrameworksSource, framework_id: str, run: Run) -> FrameworkStatus:
    status = source.status(framework_id, as_of=run.finished_at)
    if not status.runs or status.runs[0].id != run.id:
        raise ConflictError(
            f"the status of {framework_id} at the end of run {run.id} rests on another run (one finished at the "
            "same moment): compare other runs"
        )
    return status


def control_drift(
    store: EvidenceStore, source: FrameworksSource, framework_id: str, older: Run, newer: Run
) -> ControlDrift:
    catalog = source.catalog(framework_id)  # 404 for an unknown framework
    usable = [status.value for status in RunStatus.usable()]
    for run in (older, newer):
        if run.status not in usable:
            return ControlDrift(
                False, f"run {run.id} is {run.status}: control status is evaluated on complete or partial runs"
            )
    assert older.finished_at is not None and newer.finished_at is not None
    before, after = _status(source, framework_id, older), _status(source, framework_id, newer)
    customer = customer_evidence(store.engine, as_of=newer.finished_at)
    return ControlDrift(
        True,
        None,
        control_changes(before, after, customer),
        customer_changes(catalog, customer, since=older.finished_at, until=newer.finished_at),
    )
