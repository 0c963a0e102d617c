"""Streaming a customer evidence item's content out of the store, chunk by chunk (never whole in memory).

The route writes the download to the access log before this response exists, as packet downloads do: an entry
that cannot be written means 503 and nothing sent. `iter_content` hashes the chunks as they come and raises at
the end if the stored bytes no longer hash to the item's sha256, so the last chunk is held back until that check
passed: altered content is never delivered complete (the client sees a short transfer against Content-Length),
and the failure gets a second access-log entry with what was actually sent.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from urllib.parse import quote

from sqlalchemy import Engine
from starlette.responses import StreamingResponse

from api.services import access_log
from core.errors import VerificationError
from evidence.customer import service
from evidence.customer.types import CustomerItem

log = logging.getLogger("auditpack.api.downloads")
_NOT_TOKEN = re.compile(r'[^\x20-\x7e]|["\\]')
_TEXT_TYPES = ("text/", "application/json")


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the exact (sanitised) name as RFC 5987 UTF-8 (RFC 6266)."""
    fallback = _NOT_TOKEN.sub("_", filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def download_name(item: CustomerItem) -> str:
    return item.filename or f"evidence-item-{item.id}"


def media_type(item: CustomerItem) -> str:
    """The sniffed type; text types say UTF-8, which sniffing established."""
    if item.media_type.startswith(_TEXT_TYPES):
        return f"{item.media_type}; charset=utf-8"
    return item.media_type


def content_response(
    item: CustomerItem, *, engine: Engine, event: access_log.AccessEvent, clock: Callable[[], datetime]
) -> StreamingResponse:
    return StreamingResponse(
        _held_back(item, engine, event, clock),
        media_type=media_type(item),
        headers={
            "content-length": str(item.size),
            "etag": f'"{item.content_sha256}"',
            "x-content-sha256": item.content_sha256,
            "content-disposition": content_disposition(download_name(item)),
            "cache-control": "private, no-cache",
        },
    )


def _held_back(
    item: CustomerItem, engine: Engine, event: access_log.AccessEvent, clock: Callable[[], datetime]
) -> Iterator[bytes]:
    sent = 0
    digest = hashlib.sha256()
    pending: bytes | None = None
    try:
        for chunk in service.iter_content(engine, item.content_sha256):
            if pending is not None:
                yield pending
                sent += len(pending)
                digest.update(pending)
            pending = chunk
    except VerificationError:
        failed = replace(event, at=clock(), status_code=500, bytes_sent=sent, sha256=digest.hexdigest())
        try:
            access_log.append(engine, failed)
        except Exception:  # the transfer is failing already; its first entry exists, make this one loud
            log.exception("could not log the failed download of customer evidence item %s", item.id)
        raise
    if pending is not None:
        yield pending
