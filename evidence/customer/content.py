"""Content-addressed, chunked storage of customer content: any size streams in and out of either database.

A content is one `customer_contents` row (sha256, size, sniffed media type, chunk count) and its 1 MiB
`customer_content_chunks`. Storing is two passes and never holds the content in memory:

1. `staged()` reads the file object once, hashing, counting (refusing past the size limit) and checking whether it
   is text; a seekable file at position 0 (a file on disk, an upload spooled to disk) is read in place, anything
   else is copied to a temporary file on the way. Then the media type is sniffed. Nothing is written yet, so an
   upload cut off here leaves nothing behind.
2. `store_content()` writes the chunks in the caller's transaction, hashing again, and refuses (rolling the
   whole submission back) if the bytes differ from what was staged. Content already stored is not written
   again: the same bytes twice are stored once.

With an S3 blob store (`AUDITPACK_BLOB_STORE=s3://...`, evidence.blobstore) the content is one write-once object
named by its SHA-256, locked like the evidence payloads, instead of chunk rows: its row says `chunk_count` 0 and
reads stream the object back, hashing it. Content stored in chunks before the store moved to S3 stays readable.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.orm import Session

from core.errors import ConflictError, InputError, NotFoundError, VerificationError
from evidence.blobstore import S3BlobStore, blob_store
from evidence.customer.models import CHUNK_SIZE, Content, ContentChunk
from evidence.customer.sniff import HEAD_BYTES, TextCheck, sniff


@dataclass(frozen=True, slots=True)
class StagedContent:
    sha256: str
    size: int
    media_type: str
    source: BinaryIO  # seekable; its bytes from position 0 are the content


def _read_full(stream: BinaryIO, size: int) -> bytes:
    """Up to `size` bytes, fewer only at the end (pipes and sockets return short reads)."""
    parts: list[bytes] = []
    wanted = size
    while wanted:
        part = stream.read(wanted)
        if not part:
            break
        parts.append(part)
        wanted -= len(part)
    return b"".join(parts)


def as_bytes(data: bytes | memoryview | str) -> bytes:
    """A chunk as bytes: SQLite keeps whatever type was written, so a tampered chunk may come back as text."""
    return data.encode("utf-8", "surrogateescape") if isinstance(data, str) else bytes(data)


def _in_place(stream: BinaryIO) -> bool:
    try:
        return stream.seekable() and stream.tell() == 0
    except (AttributeError, OSError):
        return False


@contextmanager
def staged(stream: BinaryIO, *, max_bytes: int) -> Iterator[StagedContent]:
    """Hash, measure and sniff `stream` (pass 1); the staged content is valid inside the `with` block."""
    # closed in the finally below (a context manager would not cover the in-place case)
    spool = None if _in_place(stream) else tempfile.TemporaryFile(prefix="auditpack-upload-")  # noqa: SIM115
    try:
        digest = hashlib.sha256()
        text = TextCheck()
        head = b""
        size = 0
        while chunk := stream.read(CHUNK_SIZE):
            size += len(chunk)
            if size > max_bytes:
                raise InputError(
                    f"the content is larger than the limit of {max_bytes:,} bytes",
                    hint="AUDITPACK_EVIDENCE_MAX_BYTES sets the limit",
                )
            digest.update(chunk)
            text.feed(chunk)
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
            if spool is not None:
                spool.write(chunk)
        text.feed(b"", final=True)
        source = spool if spool is not None else stream
        media_type = sniff(head, source, size=size, text=text)
        yield StagedContent(sha256=digest.hexdigest(), size=size, media_type=media_type, source=source)
    finally:
        if spool is not None:
            spool.close()


def _object_store(engine: Engine | Connection) -> S3BlobStore | None:
    store = blob_store(engine.engine if isinstance(engine, Connection) else engine)
    return store if isinstance(store, S3BlobStore) else None


def store_content(session: Session, content: StagedContent) -> bool:
    """Write `content` in the caller's transaction unless it is already stored; True when it was written."""
    if session.get(Content, content.sha256) is not None:
        return False
    objects = _object_store(session.get_bind())  # type: ignore[arg-type]
    if objects is not None:
        return _store_object(session, objects, content)
    chunk_count = -(-content.size // CHUNK_SIZE)
    session.add(
        Content(sha256=content.sha256, size=content.size, media_type=content.media_type, chunk_count=chunk_count)
    )
    session.flush()
    content.source.seek(0)
    digest = hashlib.sha256()
    seq = 0
    while chunk := _read_full(content.source, CHUNK_SIZE):
        digest.update(chunk)
        # one INSERT per chunk, never through the identity map: memory stays at one chunk
        session.execute(insert(ContentChunk).values(sha256=content.sha256, seq=seq, data=chunk))
        seq += 1
    if digest.hexdigest() != content.sha256 or seq != chunk_count:
        raise ConflictError("the file changed while it was being stored; nothing was stored, submit it again")
    return True


def _store_object(session: Session, objects: S3BlobStore, content: StagedContent) -> bool:
    """Put the content as a locked object, then its row (with no chunks): a row never names a missing object. The
    bytes are hashed once more first, and S3 checks them against the SHA-256 sent with them."""
    content.source.seek(0)
    digest = hashlib.sha256()
    while chunk := content.source.read(CHUNK_SIZE):
        digest.update(chunk)
    if digest.hexdigest() != content.sha256:
        raise ConflictError("the file changed while it was being stored; nothing was stored, submit it again")
    content.source.seek(0)
    objects.put(content.sha256, content.source)
    session.add(Content(sha256=content.sha256, size=content.size, media_type=content.media_type, chunk_count=0))
    session.flush()
    return True


def object_chunks(engine: Engine, info: Content) -> Iterator[bytes] | None:
    """The content's bytes streamed from its S3 object (unchecked: the caller hashes), or None when it is stored
    in chunk rows."""
    if info.chunk_count or info.size == 0:
        return None
    objects = _object_store(engine)
    if objects is None:
        return None
    return objects.chunks(info.sha256, CHUNK_SIZE)


def content_info(engine: Engine, sha256: str) -> Content:
    with engine.connect() as connection:
        row = connection.execute(select(Content).where(Content.sha256 == sha256)).first()
    if row is None:
        raise NotFoundError(f"no stored content with sha256 {sha256}")
    return Content(sha256=row.sha256, size=row.size, media_type=row.media_type, chunk_count=row.chunk_count)


def iter_content(engine: Engine, sha256: str) -> Iterator[bytes]:
    """The content's chunks in order, one database round trip (and one chunk in memory) at a time.

    The bytes are hashed as they go: a missing chunk, or content that does not hash to `sha256`, raises
    VerificationError (at the end, for altered bytes: consumers must not treat the content as whole before).
    """
    info = content_info(engine, sha256)
    digest = hashlib.sha256()
    size = 0
    for data in object_chunks(engine, info) or _chunk_rows(engine, info):
        digest.update(data)
        size += len(data)
        yield data
    if digest.hexdigest() != sha256 or size != info.size:
        raise VerificationError(
            f"content {sha256} was altered: its {size:,} stored bytes hash to {digest.hexdigest()}",
            hint="run `auditpack verify --store` to see every altered row",
        )


def _chunk_rows(engine: Engine, info: Content) -> Iterator[bytes]:
    query = select(ContentChunk.data).where(ContentChunk.sha256 == info.sha256)
    for seq in range(info.chunk_count):
        with engine.connect() as connection:  # no connection held while the consumer is slow
            data = connection.scalar(query.where(ContentChunk.seq == seq))
        if data is None:
            raise VerificationError(f"content {info.sha256}: chunk {seq} of {info.chunk_count} is missing")
        yield as_bytes(data)
