"""The officer's dashboard: status per framework, its trend, runs needing attention, what expires, what awaits
review. The trend is a separate fragment (loaded after the page) because its first view evaluates past runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.responses import RedirectResponse, Response

from api.deps import ContextDep, SessionDep
from api.routes.frameworks import FrameworkId
from api.ui import queries
from api.ui.deps import UiOfficer, UiPrincipal
from api.ui.render import page

router = APIRouter()


@router.get("/")
def dashboard(request: Request, context: ContextDep, session: SessionDep, principal: UiPrincipal) -> Response:
    if principal.is_auditor:  # an auditor's interface is their granted packets
        return RedirectResponse("/ui/packets", status_code=303)
    now = context.clock()
    source = queries.frameworks_source(context)
    statuses = [source.status(catalog.id, as_of=None) for catalog in source.catalogs()]
    recent = queries.recent_runs(session, principal)
    session.close()
    return page(
        request,
        "dashboard.html",
        {
            "statuses": statuses,
            "attention": [view for view in recent if view.run.status in queries.ATTENTION],
            "recent_count": len(recent),
            "expiring": queries.expiring_soon(context, now),
            "queue": queries.review_queue(context, principal, now),
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
    cache: queries.TrendCache = request.app.state.trend
    points = queries.trend(source, catalog.id, recent, cache)
    return page(request, "trend.html", {"catalog": catalog, "points": points}, block="trend")
