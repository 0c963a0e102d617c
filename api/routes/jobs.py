"""Background jobs (collections and packet builds): follow them, and retry one that failed or was interrupted."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import ContextDep, OfficerPrincipal, SessionDep
from api.models import JobKind, JobStatus
from api.routes.convert import job_out
from api.schemas.common import READ, errors
from api.schemas.runs import JobOut, JobPage
from api.schemas.types import Id, count
from api.services import cursor as cursors
from api.services import jobs

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
JobId = Annotated[Id, Path()]


@router.get("", response_model=JobPage, summary="List jobs, newest first", responses=errors(*READ, 400, 404))
def list_jobs(
    context: ContextDep,
    session: SessionDep,
    _principal: OfficerPrincipal,
    status: JobStatus | None = None,
    kind: JobKind | None = None,
    limit: Annotated[count(1, 500), Query()] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> JobPage:
    filters = {"status": status.value if status else None, "kind": kind.value if kind else None}
    codec = context.cursors
    before = cursors.int_position(codec.decode(cursor, filters=filters), "before") if cursor else None
    rows = jobs.list_jobs(session, limit=limit + 1, before_id=before, status=status, kind=kind)
    next_cursor = codec.encode({"before": rows[limit - 1].id}, filters=filters) if len(rows) > limit else None
    return JobPage(items=[job_out(job) for job in rows[:limit]], next_cursor=next_cursor)


@router.get("/{job_id}", response_model=JobOut, summary="One job", responses=errors(*READ, 404))
def get_job(job_id: JobId, session: SessionDep, _principal: OfficerPrincipal) -> JobOut:
    return job_out(jobs.get_job(session, job_id=job_id))


@router.post(
    "/{job_id}/retry",
    status_code=202,
    response_model=JobOut,
    summary="Queue a failed or interrupted job again",
    responses=errors(*READ, 404, 409, 413),
)
def retry_job(job_id: JobId, context: ContextDep, session: SessionDep, _principal: OfficerPrincipal) -> JobOut:
    job = jobs.retry(session, job_id=job_id)
    context.job_queued(job.id)
    return job_out(job)
