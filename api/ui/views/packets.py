"""Packets for officers (request with live progress, download, verify, grants, access log) and for auditors
(their granted packets only: download, verify, the evidence and customer evidence each packet rests on)."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from api.deps import ContextDep, SessionDep
from api.principal import Principal
from api.routes import access_log as api_access_log
from api.routes import evidence as api_evidence
from api.routes import grants as api_grants
from api.routes import packets as api_packets
from api.routes.packets import PacketId
from api.schemas.grants import GrantRequest
from api.schemas.packets import PacketRequestBody
from api.schemas.types import Id
from api.services import customer
from api.ui import forms
from api.ui.deps import Csrf, UiOfficer, UiPrincipal
from api.ui.render import page

router = APIRouter()
Cursor = Annotated[str | None, Query(max_length=512)]
GrantIdPath = Annotated[Id, Path()]  # type: ignore[valid-type]


def _framework_names(context: Any) -> dict[str, str]:
    if context.frameworks is None:
        return {framework: framework for framework in context.config.frameworks}
    return {catalog.id: catalog.name for catalog in context.frameworks.catalogs()}


@router.get("/packets")
def packets(
    request: Request, context: ContextDep, session: SessionDep, principal: UiPrincipal, cursor: Cursor = None
) -> Response:
    listed = api_packets.list_packets(context, session, principal, status=None, limit=50, cursor=cursor)
    return page(
        request,
        "packets.html",
        {
            "listed": listed,
            "frameworks": _framework_names(context),
            "request_key": secrets.token_urlsafe(16),  # one packet per form shown, however often it is sent
            "today": context.clock().date(),
        },
    )


def _accounts(text: str | None) -> list[str]:
    return [part for part in (text or "").replace(",", " ").split() if part]


@router.post("/packets", dependencies=[Csrf])
async def request_packet(request: Request, context: ContextDep, session: SessionDep, principal: UiOfficer) -> Response:
    form = await request.form()
    data = forms.fields(form)
    key = data.pop("request_key", None)
    body: dict[str, Any] = {"framework": data.pop("framework", None)}
    if "as_of" in data:
        body["as_of"] = data.pop("as_of")
    if "period_from" in data or "period_to" in data:
        body["period"] = {"from": data.pop("period_from", None), "to": data.pop("period_to", None)}
    accounts = _accounts(data.pop("accounts", None))
    if accounts:
        body["scope"] = {"accounts": accounts}
    body.update(data)  # anything else is refused by the request model, as in the API
    parsed = forms.parse(PacketRequestBody, body)
    packet = await anyio.to_thread.run_sync(
        lambda: api_packets.request_packet(
            parsed, Response(), context, session, principal, idempotency_key=key if isinstance(key, str) else None
        )
    )
    return forms.done(request, f"/ui/packets/{packet.id}", f"Packet requested: {packet.framework}, {packet.status}.")


def _auditor_view(
    request: Request, context: Any, session: Any, principal: Principal, packet: Any, cursor: str | None
) -> dict[str, Any]:
    scope = next(s for s in principal.scopes if s.packet_id == packet.id)
    run_id = packet.run_ids[0] if len(packet.run_ids) == 1 else None
    evidence = api_evidence.list_evidence(
        context,
        session,
        principal,
        run_id=run_id,
        account=None,
        region=None,
        service=None,
        kind=None,
        resource_type=None,
        observed_from=None,
        observed_to=None,
        limit=100,
        cursor=cursor,
    )
    now = context.clock()
    items, _, _ = customer.list_items(
        context.engine,
        filters=customer.ItemFilter(),
        principal=principal,
        limit=500,
        cursor=None,
        codec=context.cursors,
        now=now,
    )
    exceptions, _, _ = customer.list_exceptions(
        context.engine,
        filters=customer.ExceptionFilter(),
        principal=principal,
        limit=500,
        cursor=None,
        codec=context.cursors,
        now=now,
    )
    return {
        "evidence": evidence,
        "items": [item for item in items if item.id in scope.item_ids],
        "exceptions": [row for row in exceptions if row.id in scope.exception_ids],
        "now": now,
    }


@router.get("/packets/{packet_id}")
def packet(
    packet_id: PacketId,
    request: Request,
    context: ContextDep,
    session: SessionDep,
    principal: UiPrincipal,
    cursor: Cursor = None,
) -> Response:
    shown = api_packets.get_packet(packet_id, request, session, principal)
    context_: dict[str, Any] = {"packet": shown, "frameworks": _framework_names(context)}
    if principal.is_auditor:
        context_.update(_auditor_view(request, context, session, principal, shown, cursor))
    else:
        context_["grants"] = api_grants.list_grants(packet_id, session, principal).items
        context_["log"] = api_access_log.packet_access_log(
            packet_id, context, session, principal, limit=200, cursor=cursor
        )
    return page(request, "packet.html", context_)


@router.get("/packets/{packet_id}/progress")
def progress(packet_id: PacketId, request: Request, session: SessionDep, principal: UiPrincipal) -> Response:
    shown = api_packets.get_packet(packet_id, request, session, principal)
    # Once the build has settled, the whole page changes (downloads, the grant form): htmx reloads it.
    settled = {"HX-Refresh": "true"} if shown.status not in ("queued", "running") else None
    return page(request, "packet.html", {"packet": shown}, block="progress", headers=settled)


@router.get("/packets/{packet_id}/verification")
def verification(
    packet_id: PacketId, request: Request, context: ContextDep, session: SessionDep, principal: UiPrincipal
) -> Response:
    checked = api_packets.verify(packet_id, request, context, session, principal)
    return page(request, "verification.html", {"check": checked, "packet_id": packet_id}, block="verification")


@router.get("/packets/{packet_id}/pdf")
async def pdf(
    packet_id: PacketId, request: Request, context: ContextDep, session: SessionDep, principal: UiPrincipal
) -> Response:
    return await api_packets.download_pdf(packet_id, request, context, session, principal)


@router.get("/packets/{packet_id}/bundle")
async def bundle(
    packet_id: PacketId, request: Request, context: ContextDep, session: SessionDep, principal: UiPrincipal
) -> Response:
    return await api_packets.download_bundle(packet_id, request, context, session, principal)


@router.post("/packets/{packet_id}/grants", dependencies=[Csrf])
async def grant(
    packet_id: PacketId, request: Request, context: ContextDep, session: SessionDep, principal: UiOfficer
) -> Response:
    data = forms.fields(await request.form())
    days = data.get("expires_in_days")
    if isinstance(days, str) and days.strip().isdigit():
        data["expires_in_days"] = int(days)  # the API's model takes a JSON number
    body = forms.parse(GrantRequest, data)
    created = await anyio.to_thread.run_sync(
        lambda: api_grants.create_grant(packet_id, body, Response(), context, session, principal)
    )
    return page(request, "grant_created.html", {"grant": created, "packet_id": packet_id})


@router.post("/grants/{grant_id}/revoke", dependencies=[Csrf])
async def revoke_grant(
    grant_id: GrantIdPath, request: Request, context: ContextDep, session: SessionDep, principal: UiOfficer
) -> Response:
    form = await request.form()
    await anyio.to_thread.run_sync(lambda: api_grants.revoke_grant(grant_id, context, session, principal))
    target = forms.local(form.get("next"), "/ui/packets")
    return forms.done(request, target, f"Grant {grant_id} revoked, with its auditor token.")
