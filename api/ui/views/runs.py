"""Collection runs: their history with status and gaps, one run with its gaps."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from api.deps import ContextDep, SessionDep
from api.routes import runs as api_runs
from api.schemas.types import Id
from api.ui.deps import UiOfficer
from api.ui.render import page

router = APIRouter()


@router.get("/runs")
def runs(
    request: Request,
    context: ContextDep,
    session: SessionDep,
    principal: UiOfficer,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    listed = api_runs.list_runs(context, session, principal, limit=50, cursor=cursor)
    return page(request, "runs.html", {"listed": listed})


@router.get("/runs/{run_id}")
def run(
    run_id: Annotated[Id, Path()],  # type: ignore[valid-type]
    request: Request,
    session: SessionDep,
    principal: UiOfficer,
) -> Response:
    detail = api_runs.get_run(run_id, session, principal)
    return page(request, "run.html", {"run": detail})
