"""Owners: per owner, the resources failing a check in the latest run and the evidence items expiring soon."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.deps import ContextDep
from api.ui import queries
from api.ui.deps import UiOfficer
from api.ui.render import page

router = APIRouter()


@router.get("/owners")
def owners(request: Request, context: ContextDep, principal: UiOfficer) -> Response:
    view = queries.owners(context, request.app.state.customer.get(), principal, context.clock())
    return page(request, "owners.html", {"view": view, "limit": queries.OWNER_SCAN_LIMIT})
