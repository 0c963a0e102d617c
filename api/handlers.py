"""The one place errors become HTTP responses, all with the same JSON body (`api.schemas.common.ErrorBody`)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.errors import AuthenticationError, OverloadedError, RateLimitedError, status_for
from api.schemas.common import ErrorBody, ErrorInfo
from core.errors import AuditpackError

log = logging.getLogger("auditpack.api")


def error_response(exc: AuditpackError) -> JSONResponse:
    status, code = status_for(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, AuthenticationError):
        # RFC 6750: say which scheme; `invalid_token` when one was presented but is not usable.
        presented = not exc.message.startswith("no bearer token")
        headers["WWW-Authenticate"] = 'Bearer realm="auditpack"' + (', error="invalid_token"' if presented else "")
    if isinstance(exc, RateLimitedError | OverloadedError):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, OverloadedError):
        log.warning("%s: %s", code, exc.message)  # shedding is the designed answer to overload, not a fault
    elif status >= 500:
        log.error("%s: %s", code, exc.diagnostics())
    return _json(status, ErrorInfo(code=code, message=exc.message, hint=exc.hint), headers)


def internal_error_response() -> JSONResponse:
    """For an unexpected exception: say nothing about internals (the traceback is in the server log)."""
    return _json(500, ErrorInfo(code="internal_error", message="internal error; the server log has the details"), {})


def _json(status: int, info: ErrorInfo, headers: dict[str, str]) -> JSONResponse:
    return JSONResponse(ErrorBody(error=info).model_dump(exclude_none=True), status_code=status, headers=headers)


async def _auditpack_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AuditpackError)
    return error_response(exc)


async def _pool_exhausted(_request: Request, _exc: Exception) -> JSONResponse:
    # Raised wherever a session first touches the database; mapped here, once, for every route.
    return error_response(
        OverloadedError(
            "the service is busy: no database connection came free in time",
            hint="retry after the number of seconds in Retry-After",
        )
    )


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {
            "loc": [str(part) for part in error.get("loc", ())],
            "msg": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        for error in exc.errors()
    ]
    first = details[0] if details else {"loc": [], "msg": "invalid request"}
    where = ".".join(first["loc"]) or "request"
    message = f"{where}: {first['msg']}" + (f" (and {len(details) - 1} more problems)" if len(details) > 1 else "")
    return _json(422, ErrorInfo(code="invalid_request", message=message, details=details), {})


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    headers = dict(exc.headers or {})
    return _json(exc.status_code, ErrorInfo(code=code, message=str(exc.detail)), headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(AuditpackError, _auditpack_error)
    app.add_exception_handler(PoolTimeoutError, _pool_exhausted)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
