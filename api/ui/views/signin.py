"""Sign in by pasting a token once; sign out. The cookie's rules are `api.ui.session`'s."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from api.deps import ContextDep, SessionDep
from api.errors import AuthenticationError, PermissionDeniedError, RateLimitedError
from api.middleware import client_address
from api.models import Token
from api.services.tokens import authenticate
from api.ui.deps import Csrf, keys
from api.ui.render import page
from api.ui.security import CSRF_FIELD, check_csrf, is_loopback_server
from api.ui.session import (
    SESSION_COOKIE,
    SESSION_LIFETIME,
    SIGNIN_COOKIE,
    SIGNIN_LIFETIME,
    new_signin_nonce,
    valid_nonce,
)

router = APIRouter()


def secure_cookies(request: Request) -> bool:
    """Secure, unless the deployment said plain HTTP and this server answers on a loopback address."""
    config = request.app.state.context.config
    return not (config.ui_plain_http and is_loopback_server(request.scope))


def _form(request: Request, *, error: str | None = None, status_code: int = 200) -> Response:
    nonce = request.cookies.get(SIGNIN_COOKIE)
    fresh = not valid_nonce(nonce)
    if fresh:
        nonce = new_signin_nonce()
    assert nonce is not None
    reason = request.query_params.get("reason")
    context = {"error": error, "reason": reason[:300] if reason else None, "principal": None}
    context["csrf"] = keys(request).csrf(nonce)
    response = page(request, "signin.html", context, status_code=status_code)
    if fresh:
        response.set_cookie(
            SIGNIN_COOKIE,
            nonce,
            max_age=int(SIGNIN_LIFETIME.total_seconds()),
            path="/ui/sign-in",
            secure=secure_cookies(request),
            httponly=True,
            samesite="strict",
        )
    return response


@router.get("/sign-in")
def sign_in_form(request: Request) -> Response:
    return _form(request)


@router.post("/sign-in")
async def sign_in(request: Request, context: ContextDep, session: SessionDep) -> Response:
    form = await request.form()
    presented = form.get(CSRF_FIELD)
    nonce = request.cookies.get(SIGNIN_COOKIE)
    if not valid_nonce(nonce):
        raise PermissionDeniedError("the sign-in form has expired or did not come from this site; try again")
    assert nonce is not None
    check_csrf(request, expected=keys(request).csrf(nonce), presented=presented if isinstance(presented, str) else None)
    client = client_address(request.scope)
    wait = context.limiter.retry_after(client)
    if wait is not None:
        context.metrics.rate_limited.inc()
        raise RateLimitedError(f"too many failed sign-ins from {client}; try again in {wait} seconds", retry_after=wait)
    secret = form.get("token")
    now = context.clock()
    try:
        principal = authenticate(session, secret=secret.strip() if isinstance(secret, str) else None, now=now)
        token = session.get(Token, principal.token_id)
        assert token is not None
        lifetime = SESSION_LIFETIME
        if token.expires_at is not None:
            lifetime = min(lifetime, token.expires_at - now)
        cookie = keys(request).issue(token_id=token.id, secret_sha256=token.secret_sha256, now=now)
    except AuthenticationError as exc:
        context.limiter.record_failure(client)
        context.metrics.auth_failures.inc()
        message = exc.message.replace("bearer token", "token").replace("send 'Authorization: Bearer ap_...'", "")
        return _form(request, error=message.rstrip(": "), status_code=401)
    finally:
        session.close()
    home = "/ui/packets" if principal.is_auditor else "/ui/"
    response = RedirectResponse(home, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=max(1, int(lifetime / timedelta(seconds=1))),
        path="/ui",
        secure=secure_cookies(request),
        httponly=True,
        samesite="strict",
    )
    response.delete_cookie(SIGNIN_COOKIE, path="/ui/sign-in")
    return response


@router.post("/sign-out", dependencies=[Csrf])
def sign_out() -> Response:
    response = RedirectResponse("/ui/sign-in?reason=You+have+signed+out.", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/ui")
    return response
