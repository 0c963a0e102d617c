"""Token management (admin): create, list, revoke. `auditpack token ...` does the same from the shell."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from api.deps import AdminPrincipal, ContextDep, SessionDep
from api.models import Role
from api.schemas.common import READ, errors
from api.schemas.tokens import TokenCreated, TokenList, TokenOut, TokenRequest
from api.schemas.types import Flag, Id
from api.services import tokens
from core.errors import InputError

router = APIRouter(prefix="/v1/tokens", tags=["tokens"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TokenCreated,
    summary="Create an admin or officer token (auditors get theirs through a grant)",
    responses=errors(*READ, 400, 403, 404, 413),
)
def create_token(
    body: TokenRequest, context: ContextDep, session: SessionDep, principal: AdminPrincipal
) -> TokenCreated:
    if body.role is Role.AUDITOR:
        raise InputError("auditor tokens are made by granting a packet: POST /v1/packets/{id}/grants")
    issued = tokens.create_token(
        session,
        role=body.role,
        created_by=principal.name,
        now=context.clock(),
        lifetime=tokens.parse_lifetime(body.expires),
        note=body.note,
    )
    return TokenCreated(**TokenOut.model_validate(issued.token).model_dump(), token=issued.secret)


@router.get(
    "", response_model=TokenList, summary="List tokens (never their secrets)", responses=errors(*READ, 403, 404)
)
def list_tokens(
    context: ContextDep,
    session: SessionDep,
    _principal: AdminPrincipal,
    include_inactive: Annotated[Flag, Query(description="Also expired and revoked tokens: true or false.")] = False,
) -> TokenList:
    rows = tokens.list_tokens(session, now=context.clock(), include_inactive=include_inactive)
    return TokenList(items=[TokenOut.model_validate(token) for token in rows])


@router.delete(
    "/{token_id}",
    response_model=TokenOut,
    summary="Revoke a token (and its grants)",
    responses=errors(*READ, 403, 404),
)
def revoke_token(
    token_id: Annotated[Id, Path()],
    context: ContextDep,
    session: SessionDep,
    _principal: AdminPrincipal,
) -> TokenOut:
    return TokenOut.model_validate(tokens.revoke_token(session, token_id=token_id, now=context.clock()))
