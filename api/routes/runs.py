"""Collection runs: start one (a background job), list them, read one with its gaps."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from sqlalchemy import func, select

from api.deps import ContextDep, CurrentPrincipal, IdempotencyKey, OfficerPrincipal, SessionDep
from api.errors import NotConfiguredError
from api.executors import CollectRequest
from api.routes.convert import job_out
from api.schemas.common import READ, errors
from api.schemas.runs import GapOut, JobOut, RunDetail, RunOut, RunPage, RunRequest
from api.schemas.types import Id, count
from api.services import cursor as cursors
from api.services import runs
from evidence.aws.scope import DEFAULT_ROLE_NAME, CollectionScope
from evidence.models import Evidence, RunStatus

router = APIRouter(prefix="/v1/runs", tags=["runs"])
GAP_LIMIT = 1000


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobOut,
    summary="Start a collection (returns the queued job; its result names the run)",
    responses=errors(*READ, 400, 404, 413, 503),
)
def start_run(
    body: RunRequest,
    response: Response,
    context: ContextDep,
    session: SessionDep,
    principal: OfficerPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> JobOut:
    if context.executors.collect is None:
        raise NotConfiguredError("this deployment has no collector configured, so it cannot start runs")
    # The collector's own validation, now rather than in the job: malformed ids, regions or option combinations.
    CollectionScope(
        accounts=tuple(body.accounts),
        regions=tuple(body.regions),
        org=body.organization,
        role_name=body.role_name or DEFAULT_ROLE_NAME,
    )
    scope = CollectRequest(
        accounts=tuple(body.accounts),
        regions=tuple(body.regions),
        organization=body.organization,
        role_name=body.role_name,
    )
    job, created = runs.request_run(
        session, scope=scope, principal=principal, idempotency_key=idempotency_key, now=context.clock()
    )
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    if created:
        context.wake_worker()
    else:
        response.headers["Idempotent-Replayed"] = "true"
    return job_out(job)


@router.get("", response_model=RunPage, summary="List runs, newest first", responses=errors(*READ, 400))
def list_runs(
    context: ContextDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    limit: Annotated[count(1, 500), Query()] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> RunPage:
    codec = context.cursors
    before = cursors.int_position(codec.decode(cursor, filters={}), "before") if cursor else None
    rows = runs.list_runs(session, principal=principal, limit=limit + 1, before_id=before)
    next_cursor = codec.encode({"before": rows[limit - 1].id}, filters={}) if len(rows) > limit else None
    return RunPage(items=[RunOut.model_validate(run) for run in rows[:limit]], next_cursor=next_cursor)


@router.get(
    "/{run_id}", response_model=RunDetail, summary="One run with its counts and gaps", responses=errors(*READ, 404)
)
def get_run(
    run_id: Annotated[Id, Path()],
    session: SessionDep,
    principal: CurrentPrincipal,
) -> RunDetail:
    run = runs.get_run(session, run_id=run_id, principal=principal)
    gaps, total = runs.run_gaps(session, run_id=run_id, limit=GAP_LIMIT)
    out = RunOut.model_validate(run)
    if run.status == RunStatus.RUNNING.value:  # not sealed yet: count what has been recorded so far
        out.evidence_count = (
            session.scalar(select(func.count()).select_from(Evidence).where(Evidence.run_id == run_id)) or 0
        )
        out.gap_count = total
    return RunDetail(
        **out.model_dump(),
        gaps=[GapOut.model_validate(gap) for gap in gaps],
        gaps_truncated=total > len(gaps),
    )
