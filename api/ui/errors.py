"""Errors as pages: the API's one table (`api.errors.status_for`) decides the status, the page says what went
wrong. An htmx request gets the message in the page's message area instead of the part it asked for."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response

from api.errors import status_for
from api.ui.deps import SignInRequired
from api.ui.render import page, wants_fragment
from api.ui.session import SESSION_COOKIE
from core.errors import AuditpackError

log = logging.getLogger("auditpack.ui")
SIGN_IN = "/ui/sign-in"
_TITLES = {
    400: "This request cannot be carried out",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "Not possible in this state",
    413: "Too large",
    415: "Unsupported file type",
    422: "Some fields are not valid",
    429: "Too many attempts",
    503: "The service is busy",
}


def error_page(request: Request, status: int, message: str, hint: str | None = None) -> Response:
    if status >= 500 and status != 503:
        log.error("%s on %s", message, request.url.path)
    context = {"status": status, "title": _TITLES.get(status, "Something went wrong"), "message": message}
    context["hint"] = hint
    if wants_fragment(request):  # show it where the page shows messages; the rest of the page stays
        return page(
            request,
            "error.html",
            context,
            block="message",
            status_code=status,
            headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"},
        )
    return page(request, "error.html", context, status_code=status)


def to_sign_in(request: Request, reason: str) -> Response:
    target = f"{SIGN_IN}?{urlencode({'reason': reason})}"
    if request.headers.get("hx-request") == "true":
        response: Response = Response(status_code=204, headers={"HX-Redirect": target})
    else:
        response = RedirectResponse(target, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/ui")
    return response


async def _auditpack(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AuditpackError)
    if isinstance(exc, SignInRequired):
        return to_sign_in(request, exc.message)
    status, _code = status_for(exc)
    return error_page(request, status, exc.message, exc.hint)


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path"))
        lines.append(f"{where or 'request'}: {error.get('msg', 'invalid')}")
    return error_page(request, 422, "; ".join(lines) or "invalid request")


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = "there is no such page" if exc.status_code == 404 else str(exc.detail)
    return error_page(request, exc.status_code, message)


async def _busy(request: Request, _exc: Exception) -> Response:
    return error_page(request, 503, "the service is busy: no database connection came free in time; try again")


def install(app: FastAPI) -> None:
    app.add_exception_handler(AuditpackError, _auditpack)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(PoolTimeoutError, _busy)
