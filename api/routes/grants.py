"""Auditor grants: an officer hands an auditor a token limited to one packet, for a number of days."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from api.deps import ContextDep, OfficerPrincipal, SessionDep
from api.routes.packets import PacketId
from api.schemas.common import READ, errors
from api.schemas.grants import GrantCreated, GrantList, GrantOut, GrantRequest
from api.schemas.types import Id
from api.services import grants, packets

router = APIRouter(tags=["grants"])


@router.post(
    "/v1/packets/{packet_id}/grants",
    status_code=status.HTTP_201_CREATED,
    response_model=GrantCreated,
    summary="Grant an auditor access to this packet: returns a new auditor token, once",
    responses=errors(*READ, 404, 409, 413),
)
def create_grant(
    packet_id: PacketId,
    body: GrantRequest,
    response: Response,
    context: ContextDep,
    session: SessionDep,
    principal: OfficerPrincipal,
) -> GrantCreated:
    issued = grants.create_grant(
        session,
        packet_id=packet_id,
        lifetime=timedelta(days=body.expires_in_days),
        note=body.note,
        created_by=principal.name,
        now=context.clock(),
    )
    response.headers["Location"] = f"/v1/packets/{packet_id}/grants"
    return GrantCreated(**GrantOut.model_validate(issued.grant).model_dump(), token=issued.secret)


@router.get(
    "/v1/packets/{packet_id}/grants",
    response_model=GrantList,
    summary="The grants of a packet (tokens are never shown again)",
    responses=errors(*READ, 404),
)
def list_grants(packet_id: PacketId, session: SessionDep, principal: OfficerPrincipal) -> GrantList:
    packets.get_packet(session, packet_id=packet_id, principal=principal)
    return GrantList(items=[GrantOut.model_validate(g) for g in grants.list_grants(session, packet_id=packet_id)])


@router.delete(
    "/v1/grants/{grant_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke a grant (and its auditor token)",
    responses=errors(*READ, 404),
)
def revoke_grant(
    grant_id: Annotated[Id, Path()],
    context: ContextDep,
    session: SessionDep,
    _principal: OfficerPrincipal,
) -> Response:
    grants.revoke_grant(session, grant_id=grant_id, now=context.clock())
    return Response(status_code=status.HTTP_204_NO_CONTENT)
