"""Admission control: at most `limit` requests are worked on at once; the next ones wait up to `wait_seconds` for
a place and are otherwise answered `503` with `Retry-After` at once.

Why: past a point, more concurrent requests add no throughput (two cores, one pool of database connections),
only memory and latency, until callers time out. Waiting here is cheap (no thread, no connection is held), and a
request that cannot be served soon is told so quickly. A place is given back when the response starts: after
that a download streams from disk and uses no connection, so a slow client does not hold a place. The probes
are never queued.
"""

from __future__ import annotations

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import OverloadedError
from api.handlers import error_response

EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})


class AdmissionMiddleware:
    def __init__(self, app: ASGIApp, *, limit: int, wait_seconds: float, retry_after: int = 1) -> None:
        self.app = app
        self.limit = limit
        self.wait_seconds = wait_seconds
        self.retry_after = retry_after
        self._places: anyio.Semaphore | None = None  # made in the server's event loop, on first use

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.limit <= 0 or scope.get("path") in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        if self._places is None:
            self._places = anyio.Semaphore(self.limit)
        places = self._places
        if not await self._admit(places):
            shed = OverloadedError(
                f"the service is busy: {self.limit} requests are being handled and none finished within "
                f"{self.wait_seconds:g} s",
                retry_after=self.retry_after,
                hint="retry after the number of seconds in Retry-After",
            )
            await error_response(shed)(scope, receive, send)
            return
        held = True

        async def releasing_send(message: Message) -> None:
            nonlocal held
            if held and message["type"] == "http.response.start":
                held = False
                places.release()
            await send(message)

        try:
            await self.app(scope, receive, releasing_send)
        finally:
            if held:
                places.release()

    async def _admit(self, places: anyio.Semaphore) -> bool:
        try:
            places.acquire_nowait()
            return True
        except anyio.WouldBlock:
            pass
        if self.wait_seconds <= 0:
            return False
        with anyio.move_on_after(self.wait_seconds):
            await places.acquire()
            return True
        return False
