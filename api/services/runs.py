"""Collection runs: queue one (as a job), list them, and show one with its gaps."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from api.executors import CollectRequest
from api.models import Job, JobKind
from api.principal import Principal
from api.services import jobs
from api.services.auditor_scope import restrict, visible_evidence, visible_gaps
from core.errors import NotFoundError
from evidence.models import Evidence, Gap, Run, RunStatus, Trigger


def request_run(
    session: Session,
    *,
    scope: CollectRequest,
    principal: Principal,
    idempotency_key: str | None,
    now: datetime,
) -> tuple[Job, bool]:
    """Queue a collection; the run itself appears when the job starts (the collector opens it)."""
    return jobs.enqueue(
        session,
        kind=JobKind.COLLECT,
        payload={"scope": scope.to_json(), "requested_by": principal.name, "trigger": Trigger.API.value},
        requested_by=principal.name,
        now=now,
        idempotency_key=f"api:{principal.token_id}:{idempotency_key}" if idempotency_key else None,
    )


@dataclass(frozen=True, slots=True)
class RunView:
    """A run as this principal may see it: an auditor's counts, gaps and scope cover only its packets' accounts."""

    run: Run
    evidence_count: int
    gap_count: int
    scope: dict[str, Any]
    gaps: tuple[Gap, ...] = ()
    gaps_truncated: bool = False


def list_runs(session: Session, *, principal: Principal, limit: int, before_id: int | None) -> list[RunView]:
    query = select(Run).order_by(Run.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(Run.id < before_id)
    if principal.is_auditor:
        query = query.where(Run.id.in_(sorted(principal.run_ids)))
    return [_view(session, run, principal) for run in session.scalars(query)]


def get_run(session: Session, *, run_id: int, principal: Principal) -> Run:
    run = session.get(Run, run_id) if principal.may_see_run(run_id) else None
    if run is None:
        raise NotFoundError(f"run {run_id} does not exist")
    return run


def run_view(session: Session, *, run_id: int, principal: Principal, gap_limit: int) -> RunView:
    """One run with its first `gap_limit` gaps (in recording order), as `principal` may see it."""
    run = get_run(session, run_id=run_id, principal=principal)
    view = _view(session, run, principal, live=True)
    gaps_query = restrict(select(Gap).where(Gap.run_id == run_id), visible_gaps(principal))
    gaps = tuple(session.scalars(gaps_query.order_by(Gap.id).limit(gap_limit + 1)))
    return replace(view, gaps=gaps[:gap_limit], gaps_truncated=len(gaps) > gap_limit)


def _view(session: Session, run: Run, principal: Principal, *, live: bool = False) -> RunView:
    accounts = principal.accounts_in_run(run.id)
    if accounts is None and not (live and run.status == RunStatus.RUNNING.value):
        counts = (run.evidence_count, run.gap_count)
    else:  # not sealed yet, or an auditor's share of it: count the rows it may see
        counts = (
            _count(session, Evidence, visible_evidence(principal), run.id),
            _count(session, Gap, visible_gaps(principal), run.id),
        )
    return RunView(run=run, evidence_count=counts[0], gap_count=counts[1], scope=_scope(run, principal, accounts))


def _count(
    session: Session, table: type[Evidence] | type[Gap], visible: ColumnElement[bool] | None, run_id: int
) -> int:
    query = restrict(select(func.count()).select_from(table).where(table.run_id == run_id), visible)
    return session.scalar(query) or 0


def _scope(run: Run, principal: Principal, accounts: frozenset[str] | None) -> dict[str, Any]:
    """Officers see the run's whole scope. Auditors see its accounts and regions only (how it was collected, e.g.
    the role assumed, is operational detail), and with an account-scoped packet only that packet's accounts."""
    scope = dict(run.scope or {})
    if not principal.is_auditor:
        return scope
    listed = [str(account) for account in scope.get("accounts") or ()]
    if accounts is not None:
        listed = sorted(accounts.intersection(listed) if listed else accounts)
    return {"accounts": listed, "regions": list(scope.get("regions") or ())}
