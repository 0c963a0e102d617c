"""Collection runs: their history with status and gaps, one run with its gaps and its drift from an earlier run, and
(a fragment the run page loads after itself: two status evaluations take seconds) one framework's control status
changes between the two runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from api.deps import ContextDep, SessionDep
from api.routes import diff as api_diff
from api.routes import runs as api_runs
from api.schemas.types import Id
from api.ui import queries
from api.ui.deps import UiOfficer
from api.ui.render import page, wants_fragment
from core.errors import ConflictError, NotFoundError

router = APIRouter()
DIFF_PAGE = 50  # resources per page of the drift section
FRAMEWORK = r"^[a-z0-9][a-z0-9-]{0,63}$"  # as GET /v1/runs/{id}/diff/controls takes it


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
    context: ContextDep,
    session: SessionDep,
    principal: UiOfficer,
    against: Annotated[Id | None, Query()] = None,  # type: ignore[valid-type]
    cursor: Annotated[str | None, Query(max_length=8192)] = None,
) -> Response:
    """The run, and the diff against `against` (default: the run before it) through the JSON route's own code,
    so the same pairing rules, cursor and caller scope apply; htmx asks for the next page of the diff only."""
    fragment = bool(cursor) and wants_fragment(request)
    detail = None if fragment else api_runs.get_run(run_id, session, principal)
    recent = [] if fragment else api_runs.list_runs(context, session, principal, limit=50, cursor=None).items
    found, refused = None, None
    try:
        found = api_diff.run_diff(run_id, context, session, principal, against=against, limit=DIFF_PAGE, cursor=cursor)
    except (NotFoundError, ConflictError) as exc:  # nothing to compare with, a running run, a run with itself
        if cursor:
            raise
        refused = exc.message
    drift = {"found": found, "refused": refused, "run_id": run_id, "against": against, "more": bool(cursor)}
    if fragment:
        return page(request, "_drift.html", {"drift": drift}, block="drift_items")
    return page(request, "run.html", {"run": detail, "recent": recent, "drift": drift})


@router.get("/runs/{run_id}/controls")
def control_changes(
    run_id: Annotated[Id, Path()],  # type: ignore[valid-type]
    request: Request,
    context: ContextDep,
    session: SessionDep,
    principal: UiOfficer,
    framework: Annotated[str, Query(pattern=FRAMEWORK)],
    against: Annotated[Id | None, Query()] = None,  # type: ignore[valid-type]
) -> Response:
    """Requirements of `framework` whose status moved from `against` (default: the run before) to this run, through
    `GET /v1/runs/{id}/diff/controls` itself: the same pairing rules and errors, and officers only, as there (an
    auditor gets 404 from `UiOfficer`, as the API's `OfficerPrincipal` answers). htmx gets the block; without
    JavaScript the link opens it as a page."""
    found = api_diff.run_control_diff(run_id, context, session, principal, framework=framework, against=against)
    name = queries.frameworks_source(context).catalog(framework).name  # the route checked both exist
    shown = {"changes": found, "framework_name": name, "run_id": run_id, "against": against}
    return page(request, "run_controls.html", shown, block="control_changes")
