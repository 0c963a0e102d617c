"""Streaming a packet file: from disk in 64 KiB chunks, never whole in memory, with the bytes checked as they go.

The route writes the download to the access log before this response exists (status 200, the recorded size and
hash): a download whose entry cannot be written is answered 503 and sends nothing. Headers promise the recorded
size (Content-Length) and hash (ETag, X-Content-SHA256). While streaming we hash what we send and hold back the
last chunk: it goes out only if the file still hashes to what was recorded when it was built, so an altered file
is never delivered complete under the original hash (the client sees a short, failed transfer). A transfer that
does not complete gets a second entry with what was actually sent: 500 when the file had changed, 499 (nginx's
"client closed request") when the client left early.
"""

from __future__ import annotations

import hashlib
import logging
import zipfile
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import replace
from datetime import datetime

import anyio
import anyio.to_thread
from sqlalchemy import Engine
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from api.metrics import ApiMetrics
from api.services import access_log
from api.services.packets import PacketFile
from core.errors import VerificationError

log = logging.getLogger("auditpack.api.downloads")
CHUNK_SIZE = 64 * 1024
CLIENT_CLOSED = 499  # nginx's convention for "the client went away before the response completed"


class PacketFileResponse(Response):
    def __init__(
        self,
        *,
        file: PacketFile,
        event: access_log.AccessEvent,
        engine: Engine,
        metrics: ApiMetrics,
        kind: str,
        clock: Callable[[], datetime],
    ) -> None:
        super().__init__(
            status_code=200,
            media_type=file.media_type,
            headers={
                "content-length": str(file.size),
                "etag": f'"{file.sha256}"',
                "x-content-sha256": file.sha256,
                "content-disposition": f'attachment; filename="{file.filename}"',
                "cache-control": "private, no-cache",
            },
        )
        self.file = file
        self.event = event
        self.engine = engine
        self.metrics = metrics
        self.kind = kind
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        progress = _Progress()
        try:
            async with anyio.create_task_group() as group:

                async def stream() -> None:
                    await self._stream(send, progress)
                    group.cancel_scope.cancel()

                async def watch_disconnect() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    group.cancel_scope.cancel()

                group.start_soon(stream)
                group.start_soon(watch_disconnect)
        finally:
            self.metrics.download_bytes.labels(self.kind).inc(progress.sent)
            if not progress.settled:  # the client went away, or reading the file failed
                self.metrics.downloads.labels(self.kind, "incomplete").inc()
                with anyio.CancelScope(shield=True):
                    await self._log_outcome(CLIENT_CLOSED, progress)

    async def _chunks(self) -> AsyncIterator[bytes]:
        if self.file.source is not None:  # an S3 object: read in a worker thread, chunk by chunk
            source = await anyio.to_thread.run_sync(self.file.source)
            try:
                while chunk := await anyio.to_thread.run_sync(next, source, b""):
                    yield chunk
            finally:
                source.close()  # type: ignore[attr-defined]
            return
        if self.file.member is None:
            async with await anyio.open_file(self.file.path, "rb") as handle:
                while chunk := await handle.read(CHUNK_SIZE):
                    yield chunk
            return
        # A member of a zip (a bundle's OSCAL document): inflated in a worker thread, chunk by chunk.
        archive = await anyio.to_thread.run_sync(zipfile.ZipFile, self.file.path)
        try:
            member = await anyio.to_thread.run_sync(archive.open, self.file.member)
            try:
                while chunk := await anyio.to_thread.run_sync(member.read, CHUNK_SIZE):
                    yield chunk
            finally:
                member.close()
        finally:
            archive.close()

    async def _stream(self, send: Send, progress: _Progress) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        pending = b""
        read = 0
        async with aclosing(self._chunks()) as chunks:  # a cut transfer closes the file (or zip) at once
            async for chunk in chunks:
                read += len(chunk)
                if pending:
                    await send({"type": "http.response.body", "body": pending, "more_body": True})
                    progress.add(pending)
                pending = chunk
        whole = progress.digest.copy()
        whole.update(pending)
        if read != self.file.size or whole.hexdigest() != self.file.sha256:
            progress.settled = True
            await self._log_outcome(500, progress)
            self.metrics.downloads.labels(self.kind, "altered").inc()
            raise VerificationError(
                f"{self.file.label} changed on disk: it is {read} bytes hashing to {whole.hexdigest()}, but "
                f"{self.file.size} bytes hashing to {self.file.sha256} were recorded when it was built; "
                "the download was cut short"
            )
        await send({"type": "http.response.body", "body": pending, "more_body": False})
        progress.add(pending)
        progress.settled = True  # the entry written before the first byte says exactly this
        self.metrics.downloads.labels(self.kind, "complete").inc()

    async def _log_outcome(self, status: int, progress: _Progress) -> None:
        """The second entry of a transfer that did not complete: what was actually sent, and its hash."""
        event = replace(
            self.event,
            at=self.clock(),
            status_code=status,
            bytes_sent=progress.sent,
            sha256=progress.digest.hexdigest(),
        )
        try:
            await anyio.to_thread.run_sync(access_log.append, self.engine, event)
        except Exception:  # the transfer is already failing; the entry of its start exists, make this one loud
            log.exception("could not log the outcome (%s) of the download of %s", status, self.file.label)


class _Progress:
    """What has gone out so far: byte count and the SHA-256 of exactly those bytes."""

    def __init__(self) -> None:
        self.sent = 0
        self.digest = hashlib.sha256()
        self.settled = False  # complete, or its failure already logged

    def add(self, chunk: bytes) -> None:
        self.sent += len(chunk)
        self.digest.update(chunk)
