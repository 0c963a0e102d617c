"""Who is looking at a page: the session cookie's token, checked on every request (see `api.ui.session`).

UiPrincipal  any signed-in token (auditors too); not signed in: to the sign-in page
UiOfficer    officer or admin; to an auditor the page does not exist (404), as in the API
Csrf         a POST of a urlencoded form carries this session's CSRF token (403 otherwise)
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.deps import ContextDep, SessionDep
from api.errors import AuthenticationError
from api.models import Token
from api.principal import Principal
from api.services.tokens import principal_of
from api.ui.security import CSRF_FIELD, check_csrf
from api.ui.session import SESSION_COOKIE, SESSION_LIFETIME, SessionKeys
from core.errors import NotFoundError


class SignInRequired(AuthenticationError):
    """No usable session: the page sends the browser to the sign-in page, saying why."""


def keys(request: Request) -> SessionKeys:
    return request.app.state.keys  # type: ignore[no-any-return]


def _principal(request: Request, context: ContextDep, session: SessionDep) -> Principal:
    cookie = SessionKeys.parse(request.cookies.get(SESSION_COOKIE))
    if cookie is None:
        raise SignInRequired("sign in with your token to continue")
    now = context.clock()
    try:
        token = session.get(Token, cookie.token_id)
        if token is None or not keys(request).verify(cookie, secret_sha256=token.secret_sha256):
            raise SignInRequired("this session is not valid here; sign in again")
        if cookie.started_at + SESSION_LIFETIME <= now:
            raise SignInRequired(f"sessions last {SESSION_LIFETIME.seconds // 3600} hours; sign in again")
        try:
            principal = principal_of(session, token, now=now)
        except AuthenticationError as exc:  # revoked or expired: the session ends with its token
            raise SignInRequired(f"your session ended: {exc.message}") from None
    finally:
        _close(session)
    request.state.principal = principal  # the access log of auditor requests reads it (api.middleware)
    request.state.csrf = keys(request).csrf(cookie.nonce)
    return principal


def _close(session: Session) -> None:
    session.close()  # give the connection back: pages go on to the status evaluation, which takes its own


UiPrincipal = Annotated[Principal, Depends(_principal)]


def _officer(principal: UiPrincipal) -> Principal:
    if principal.is_auditor:
        raise NotFoundError("not found")
    return principal


UiOfficer = Annotated[Principal, Depends(_officer)]


async def _csrf(request: Request, _principal: UiPrincipal) -> None:
    form = await request.form()
    value = form.get(CSRF_FIELD)
    check_csrf(request, expected=request.state.csrf, presented=value if isinstance(value, str) else None)


Csrf = Depends(_csrf)
