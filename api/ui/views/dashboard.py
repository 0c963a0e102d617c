"""The officer's dashboard: status per framework, its trend, runs needing attention, what expires, what awaits
review. The trend is a separate fragment (loaded after the page): its past runs are evaluated in the background
(api.ui.board), and the fragment asks again until every one is."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.responses import RedirectResponse, Response

from api.deps import ContextDep, SessionDep
from api.routes.frameworks import FrameworkId
from api.ui import queries
from api.ui.board import StatusBoard, TrendBoard, basis
from api.ui.customer_snapshot import CustomerSnapshot
from api.ui.deps import UiOfficer, UiPrincipal
from api.ui.render import page

router = APIRouter()
LISTED = 50  # expiring entries shown per kind; the count says how many more there are


@router.get("/")
def dashboard(request: Request, context: ContextDep, session: SessionDep, principal: UiPrincipal) -> Response:
    if principal.is_auditor:  # an auditor's interface is their granted packets
        return RedirectResponse("/ui/packets", status_code=303)
    now = context.clock()
    source = queries.frameworks_source(context)
    recent = queries.recent_runs(session, principal)
    session.close()
    board: StatusBoard = request.app.state.board
    rests_on = basis(context.engine)
    statuses = [board.status(source, c.id, engine=context.engine, rests_on=rests_on) for c in source.catalogs()]
    customers: CustomerSnapshot = request.app.state.customer
    customer = customers.get()
    return page(
        request,
        "dashboard.html",
        {
            "statuses": statuses,
            "attention": [view for view in recent if view.run.status in queries.ATTENTION],
            "recent_count": len(recent),
            "expiring": queries.expiring_soon(customer, now),
            "listed": LISTED,
            "queue": queries.review_queue(customer, principal, now),
            "now": now,
        },
    )


@router.get("/frameworks/{framework_id}/trend")
def trend(
    framework_id: Annotated[FrameworkId, Path()],  # type: ignore[valid-type]
    request: Request,
    context: ContextDep,
    session: SessionDep,
    principal: UiOfficer,
) -> Response:
    source = queries.frameworks_source(context)
    catalog = source.catalog(framework_id)
    recent = queries.recent_runs(session, principal)
    session.close()
    board: TrendBoard = request.app.state.trend
    points = board.points(source, catalog.id, recent, engine=context.engine)
    pending = sum(1 for point in points if point.by_status is None)
    return page(request, "trend.html", {"catalog": catalog, "points": points, "pending": pending}, block="trend")
