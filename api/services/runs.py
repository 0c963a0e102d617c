"""Collection runs: queue one (as a job), list them, and show one with its gaps."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.executors import CollectRequest
from api.models import Job, JobKind
from api.principal import Principal
from api.services import jobs
from evidence.errors import NotFoundError
from evidence.models import Gap, Run, Trigger


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


def list_runs(session: Session, *, principal: Principal, limit: int, before_id: int | None) -> list[Run]:
    query = select(Run).order_by(Run.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(Run.id < before_id)
    if principal.is_auditor:
        if not principal.run_ids:
            return []
        query = query.where(Run.id.in_(sorted(principal.run_ids)))
    return list(session.scalars(query))


def get_run(session: Session, *, run_id: int, principal: Principal) -> Run:
    run = session.get(Run, run_id) if principal.may_see_run(run_id) else None
    if run is None:
        raise NotFoundError(f"run {run_id} does not exist")
    return run


def run_gaps(session: Session, *, run_id: int, limit: int) -> tuple[list[Gap], int]:
    """The first `limit` gaps of a run (in recording order) and how many it has in all."""
    total = session.scalar(select(func.count()).select_from(Gap).where(Gap.run_id == run_id)) or 0
    gaps = list(session.scalars(select(Gap).where(Gap.run_id == run_id).order_by(Gap.id).limit(limit)))
    return gaps, total
