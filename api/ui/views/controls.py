"""Controls of a framework: a filtered, searchable list; one control with everything it rests on."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from api.context import ApiContext
from api.deps import ContextDep
from api.routes.frameworks import FrameworkId
from api.ui import queries
from api.ui.board import StatusBoard
from api.ui.deps import UiOfficer
from api.ui.render import page
from core.errors import NotFoundError
from evidence.customer.types import ItemKind
from frameworks.results import FrameworkStatus

router = APIRouter()
Filter = Annotated[str | None, Query(max_length=200)]
ROWS = 50  # resources shown per check and verdict on a control page; the findings browser pages through the rest


def _current(request: Request, context: ApiContext, framework_id: str) -> FrameworkStatus:
    """The framework's current status, as the status board holds it (api.ui.board)."""
    board: StatusBoard = request.app.state.board
    return board.status(queries.frameworks_source(context), framework_id, engine=context.engine)


@router.get("/frameworks/{framework_id}/controls")
def controls(
    framework_id: Annotated[FrameworkId, Path()],  # type: ignore[valid-type]
    request: Request,
    context: ContextDep,
    principal: UiOfficer,
    status: Filter = None,
    responsibility: Filter = None,
    family: Filter = None,
    service: Filter = None,
    owner: Filter = None,
    q: Filter = None,
) -> Response:
    evaluated = _current(request, context, framework_id)
    facets = request.app.state.facets.get(evaluated)
    chosen = queries.ControlFilter(status, responsibility, family, service, owner, q)
    rows = [control for control in evaluated.controls if chosen.keep(control, facets)]
    params = {k: v for k, v in request.query_params.items() if v}
    return page(
        request,
        "controls.html",
        {
            "status": evaluated,
            "rows": rows,
            "filters": chosen,
            "params": params,
            "facets": facets,
            "total": sum(1 for c in evaluated.controls if not c.heading),
        },
        block="results",
    )


@router.get("/frameworks/{framework_id}/controls/{control_id}")
def control(
    framework_id: Annotated[FrameworkId, Path()],  # type: ignore[valid-type]
    control_id: Annotated[str, Path(max_length=128)],
    request: Request,
    context: ContextDep,
    principal: UiOfficer,
) -> Response:
    source = queries.frameworks_source(context)
    catalog = source.catalog(framework_id)
    evaluated = _current(request, context, framework_id)
    result = queries.find_control(evaluated, control_id)
    if result is None:
        raise NotFoundError(f"{catalog.name} has no control {control_id!r}")
    now = context.clock()
    customer = request.app.state.customer.get()
    return page(
        request,
        "control.html",
        {
            "catalog": catalog,
            "status": evaluated,
            "control": result,
            "ref": f"{catalog.id}:{result.control_id}",
            "items": queries.control_items(customer, principal, catalog.id, result.control_id, now),
            "exceptions": queries.control_exceptions(customer, principal, catalog, result, now),
            "rows": ROWS,
            "kinds": [kind.value for kind in ItemKind],
            "now": now,
        },
    )
