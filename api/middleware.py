"""Pure ASGI middleware (they never buffer responses, so downloads stream):

- `GuardMiddleware`: security headers on every response, request body size limit (413), and a last-resort 500
  in our JSON error shape, so even an unexpected failure carries the security headers. Bodies are read whole
  under AUDITPACK_API_MAX_BODY_BYTES, except on the upload routes (`streamed`): those stream to the route, which
  spools the file to disk (api.uploads), under their own limit, enforced here too as the bytes arrive.
- `AuditorLogMiddleware`: writes every auditor request to the access log once the response is complete
  (downloads log themselves, with the bytes and hash they served).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import anyio.to_thread
from sqlalchemy import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.client_address import normalise_client
from api.errors import PayloadTooLargeError
from api.handlers import error_response, internal_error_response
from api.principal import Principal
from api.services import access_log
from core.clock import utcnow

log = logging.getLogger("auditpack.api")

_COMMON_HEADERS = (
    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
_API_CSP = b"default-src 'none'; frame-ancestors 'none'"
# Swagger UI and ReDoc load their assets from this server (api.docs) and run an inline bootstrap script; ReDoc
# styles inline and starts a web worker from a blob.
_DOCS_CSP = (
    b"default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; connect-src 'self'; worker-src blob:; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def client_address(scope: Scope) -> str:
    """The caller's address, normalised (forwarded values are client-controlled text): see api.client_address."""
    client = scope.get("client")
    return normalise_client(client[0] if client else None)


class GuardMiddleware:
    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, streamed: Mapping[tuple[str, str], int] | None = None
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.streamed = dict(streamed or {})  # (method, path) -> the body limit of that upload route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        csp = _DOCS_CSP if path.startswith(DOCS_PATHS) else _API_CSP
        started = False

        async def secure_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(header for header in _COMMON_HEADERS if header[0] not in present)
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", csp))
                if b"cache-control" not in present:  # downloads set their own (private, revalidate with ETag)
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            streamed_limit = self.streamed.get((scope["method"], path))
            if streamed_limit is not None:
                if _declared_length(scope) > streamed_limit:
                    await error_response(_too_large(streamed_limit))(scope, receive, secure_send)
                    return
                receive = _counting(receive, streamed_limit)
            elif scope["method"] in _BODY_METHODS:
                body = await self._read_body(scope, receive)
                if body is None:
                    await error_response(_too_large(self.max_body_bytes))(scope, receive, secure_send)
                    return
                receive = _replay(body, receive)
            await self.app(scope, receive, secure_send)
        except Exception:
            if started:
                raise  # the status line is out; the server will cut the connection
            log.exception("unhandled error on %s %s", scope["method"], path)
            await internal_error_response()(scope, receive, secure_send)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it is known to be over the limit (Content-Length or streamed)."""
        if _declared_length(scope) > self.max_body_bytes:
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(f"the request body is over the limit of {limit} bytes")


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-length" and value.isdigit():
            return int(value)
    return 0


def _counting(receive: Receive, limit: int) -> Receive:
    """`receive` for a streamed body: raises (413, through the route) as soon as more than `limit` bytes came."""
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        size += len(message.get("body", b""))
        if size > limit:
            raise _too_large(limit)
        return message

    return counted


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class AuditorLogMiddleware:
    def __init__(self, app: ASGIApp, *, engine: Engine, clock: Callable[[], object] = utcnow) -> None:
        self.app = app
        self.engine = engine
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        status = 500

        async def tracking_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        finally:
            principal = state.get("principal")
            if isinstance(principal, Principal) and principal.is_auditor and not state.get("access_logged"):
                await self._log(scope, principal, status, state.get("packet_id"))

    async def _log(self, scope: Scope, principal: Principal, status: int, packet_id: str | None) -> None:
        query = scope.get("query_string", b"").decode("latin-1")
        event = access_log.AccessEvent(
            at=self.clock(),  # type: ignore[arg-type]
            principal=principal.name,
            token_id=principal.token_id,
            role=principal.role.value,
            action="request",
            method=scope["method"],
            path=(scope.get("path", "") + (f"?{query}" if query else ""))[:2048],
            packet_id=packet_id,
            status_code=status,
            client=client_address(scope),
        )
        with anyio.CancelScope(shield=True):
            try:
                await anyio.to_thread.run_sync(access_log.append, self.engine, event)
            except Exception:  # the response is already out; an unlogged request must at least be loud
                log.exception("could not write the access log entry of %s %s", event.method, event.path)
