"""Controls of a framework: a filtered, searchable list; one control with everything it rests on."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from api.deps import ContextDep
from api.routes.frameworks import FrameworkId
from api.ui import queries
from api.ui.deps import UiOfficer
from api.ui.render import page
from core.errors import NotFoundError
from evidence.customer.types import ItemKind

router = APIRouter()
Filter = Annotated[str | None, Query(max_length=200)]


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
    source = queries.frameworks_source(context)
    evaluated = source.status(framework_id, as_of=None)
    chosen = queries.ControlFilter(status, responsibility, family, service, owner, q)
    rows = [control for control in evaluated.controls if chosen.keep(control)]
    params = {k: v for k, v in request.query_params.items() if v}
    return page(
        request,
        "controls.html",
        {
            "status": evaluated,
            "rows": rows,
            "filters": chosen,
            "params": params,
            "facets": queries.facets(evaluated),
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
    evaluated = source.status(framework_id, as_of=None)
    result = queries.find_control(evaluated, control_id)
    if result is None:
        raise NotFoundError(f"{catalog.name} has no control {control_id!r}")
    now = context.clock()
    return page(
        request,
        "control.html",
        {
            "catalog": catalog,
            "status": evaluated,
            "control": result,
            "ref": f"{catalog.id}:{result.control_id}",
            "items": queries.control_items(context, principal, catalog.id, result.control_id, now),
            "exceptions": queries.control_exceptions(context, principal, catalog, result, now),
            "kinds": [kind.value for kind in ItemKind],
            "now": now,
        },
    )
