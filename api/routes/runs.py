"""Collection runs: start one (a background job), list them, read one with its gaps."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from api.deps import ContextDep, CurrentPrincipal, IdempotencyKey, OfficerPrincipal, SessionDep
from api.errors import NotConfiguredError
from api.executors import CollectRequest
from api.routes.convert import job_out, run_detail, run_out
from api.schemas.common import READ, errors
from api.schemas.runs import JobOut, RunDetail, RunPage, RunRequest
from api.schemas.types import Id, count
from api.services import cursor as cursors
from api.services import runs
from evidence.aws.scope import DEFAULT_ROLE_NAME, CollectionScope

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
        context.job_queued(job.id)
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
    views = runs.list_runs(session, principal=principal, limit=limit + 1, before_id=before)
    next_cursor = codec.encode({"before": views[limit - 1].run.id}, filters={}) if len(views) > limit else None
    return RunPage(items=[run_out(view, principal) for view in views[:limit]], next_cursor=next_cursor)


@router.get(
    "/{run_id}",
    response_model=RunDetail,
    summary="One run with its counts and gaps (auditors: of their packets' accounts)",
    responses=errors(*READ, 404),
)
def get_run(
    run_id: Annotated[Id, Path()],
    session: SessionDep,
    principal: CurrentPrincipal,
) -> RunDetail:
    return run_detail(runs.run_view(session, run_id=run_id, principal=principal, gap_limit=GAP_LIMIT), principal)
