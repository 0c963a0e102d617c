"""Dependencies every route uses, as `Annotated` aliases (the full-stack-fastapi-template pattern):

ContextDep        the app's ApiContext (config, engine, executors, clock)
SessionDep        a SQLAlchemy session for this request; it holds a pooled connection only while it is used:
                  authentication closes it, and a route closes it again before anything takes another
CurrentPrincipal  the authenticated caller (401 / 429 otherwise)
OfficerPrincipal  officer or admin; to an auditor the route does not exist (404)
AdminPrincipal    admin; an officer gets 403, an auditor 404
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.context import ApiContext
from api.errors import AuthenticationError, PermissionDeniedError, RateLimitedError
from api.middleware import client_address
from api.principal import Principal
from api.services.tokens import authenticate
from core.errors import NotFoundError


def get_context(request: Request) -> ApiContext:
    return request.app.state.context  # type: ignore[no-any-return]


ContextDep = Annotated[ApiContext, Depends(get_context)]


def get_session(context: ContextDep) -> Iterator[Session]:
    with context.sessions() as session:
        yield session


# scope="function": the session closes when the route function returns, before the response is sent, so a
# streaming download does not hold a database connection for its whole transfer.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An auditpack token (`ap_...`): `auditpack token create`, or a grant for auditors.",
)


def get_principal(
    request: Request,
    context: ContextDep,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    client = client_address(request.scope)
    wait = context.limiter.retry_after(client)
    if wait is not None:
        context.metrics.rate_limited.inc()
        raise RateLimitedError(
            f"too many failed authentication attempts from {client}; try again in {wait} seconds", retry_after=wait
        )
    try:
        principal = authenticate(session, secret=credentials.credentials if credentials else None, now=context.clock())
    except AuthenticationError:
        context.limiter.record_failure(client)
        context.metrics.auth_failures.inc()
        raise
    finally:
        # Give the connection back now: routes go on to the findings store, the status evaluation or the access
        # log, which take their own. A request holding one connection while it waits for a second deadlocks the
        # pool under load (issue 11); the session takes a connection again when the route uses it.
        session.close()
    request.state.principal = principal  # for the access log of auditor requests
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def _officer(principal: CurrentPrincipal) -> Principal:
    if principal.is_auditor:  # auditors see only what was granted: everything else does not exist for them
        raise NotFoundError("not found")
    return principal


OfficerPrincipal = Annotated[Principal, Depends(_officer)]


def _admin(principal: OfficerPrincipal) -> Principal:
    if not principal.is_admin:
        raise PermissionDeniedError("this needs an admin token", hint="token management is for admins")
    return principal


AdminPrincipal = Annotated[Principal, Depends(_admin)]


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Repeat a request safely: the same key returns the first result instead of starting again.",
    ),
]
