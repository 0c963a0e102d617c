"""Reading a multipart/form-data upload as it arrives: the file part goes to a temporary file on disk, the other
fields into memory (they are small and bounded), and nothing is ever read whole into memory.

Limits are enforced while the bytes stream in, not after: the file part is refused (`PayloadTooLargeError`, 413)
the moment it passes `max_file_bytes`, and the fields the moment they pass `max_field_bytes` together, so an
oversized upload costs at most the limit on disk. The temporary file lives in the data directory (on disk, where
a tmpfs /tmp would hold it in memory) and is unlinked as it is created: closed, or the process ended, it is gone.
An upload that ends early (the client went away, or the body stops before the closing boundary) is refused with
`UploadInterruptedError` (400); nothing of it reaches the store, whose submission is one transaction after this.

Starlette's own form parser spools each file in memory up to 1 MiB and knows no per-file limit; this module uses
the same streaming parser (python-multipart) with our limits and our spool.
"""

from __future__ import annotations

import codecs
import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import anyio.to_thread
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from api.errors import PayloadTooLargeError
from core.errors import InputError

FILE_FIELD = "file"
UPLOADS_DIR = "uploads"  # inside the data directory


class UploadInterruptedError(InputError):
    """The upload ended before its last byte: nothing was stored."""


def spool(directory: Path) -> BinaryIO:
    """A temporary file on disk that disappears when closed (unlinked at once where the system allows)."""
    directory.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryFile(prefix="auditpack-upload-", dir=directory)


@dataclass(slots=True)
class Upload:
    """The fields of a form (each name with its values, in order) and its one file, spooled to disk."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    file: BinaryIO | None = None  # at position 0 once read
    filename: str | None = None  # as the client sent it: sanitised by the service, never used as a path
    size: int = 0
    sha256: str | None = None

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


@dataclass(slots=True)
class _Part:
    name: str = ""
    is_file: bool = False
    data: bytearray = field(default_factory=bytearray)
    headers: dict[bytes, bytes] = field(default_factory=dict)


class _Reader:
    """python-multipart callbacks: they collect what arrived; `read_upload` writes file bytes between chunks."""

    def __init__(self, *, directory: Path, max_file_bytes: int, max_field_bytes: int) -> None:
        self.directory = directory
        self.max_file_bytes = max_file_bytes
        self.max_field_bytes = max_field_bytes
        self.upload = Upload()
        self.pending: list[bytes] = []  # file bytes to write to the spool
        self.part = _Part()
        self.field_bytes = 0
        self.digest = hashlib.sha256()
        self.ended = False
        self._header_name = b""
        self._header_value = b""

    def on_part_begin(self) -> None:
        self.part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_field_bytes(end - start)  # headers count too: many empty parts cannot grow memory unbounded
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count_field_bytes(end - start)
        self._header_value += data[start:end]

    def _count_field_bytes(self, size: int) -> None:
        self.field_bytes += size
        if self.field_bytes > self.max_field_bytes:
            raise PayloadTooLargeError(
                f"the form fields besides the file are over the limit of {self.max_field_bytes:,} bytes together"
            )

    def on_header_end(self) -> None:
        self.part.headers[self._header_name.lower()] = self._header_value
        self._header_name = self._header_value = b""

    def on_headers_finished(self) -> None:
        _disposition, options = parse_options_header(self.part.headers.get(b"content-disposition"))
        name = options.get(b"name")
        if name is None:
            raise InputError("a form part has no name in its Content-Disposition header")
        self.part.name = _decode(name)
        if b"filename" not in options:
            return
        if self.part.name != FILE_FIELD:
            raise InputError(f"only the {FILE_FIELD!r} field may carry a file, not {self.part.name!r}")
        if self.upload.file is not None:
            raise InputError(f"the {FILE_FIELD!r} field was sent twice: one file per upload")
        self.part.is_file = True
        self.upload.filename = _decode(options[b"filename"])
        self.upload.file = spool(self.directory)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self.part.is_file:
            self.upload.size += len(chunk)
            if self.upload.size > self.max_file_bytes:  # refused now, with at most the limit on disk
                raise PayloadTooLargeError(
                    f"the file is larger than the limit of {self.max_file_bytes:,} bytes; the upload was refused "
                    "before the rest was read",
                    hint="AUDITPACK_EVIDENCE_MAX_BYTES sets the limit",
                )
            self.digest.update(chunk)
            self.pending.append(chunk)
            return
        self._count_field_bytes(len(chunk))
        self.part.data += chunk

    def on_part_end(self) -> None:
        if self.part.is_file:
            self.upload.sha256 = self.digest.hexdigest()
            return
        try:
            value = self.part.data.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"form field {self.part.name!r} is not UTF-8 text") from None
        self.upload.fields.setdefault(self.part.name, []).append(value)

    def on_end(self) -> None:
        self.ended = True


def _decode(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")  # what older clients send for non-ASCII file names


def _boundary(request: Request) -> bytes:
    content_type, options = parse_options_header(request.headers.get("content-type"))
    if content_type != b"multipart/form-data" or not options.get(b"boundary"):
        raise InputError(
            "expected a multipart/form-data body with a boundary",
            hint="send the fields and the file as a form, e.g. curl -F kind=document -F file=@policy.pdf",
        )
    boundary = options[b"boundary"]
    codecs.decode(boundary, "ascii")  # a boundary is ASCII; anything else fails as a UnicodeDecodeError
    return boundary


async def read_upload(request: Request, *, directory: Path, max_file_bytes: int, max_field_bytes: int) -> Upload:
    """Read the request's form; the caller closes the returned upload (its file) when done with it."""
    try:
        boundary = _boundary(request)
    except UnicodeDecodeError:
        raise InputError("the multipart boundary is not ASCII") from None
    reader = _Reader(directory=directory, max_file_bytes=max_file_bytes, max_field_bytes=max_field_bytes)
    callbacks = {name: getattr(reader, name) for name in dir(reader) if name.startswith("on_")}
    try:
        parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    except FormParserError as exc:
        raise InputError(f"the multipart boundary is not usable: {exc}") from None
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if reader.pending:  # disk writes off the event loop
                data, reader.pending = b"".join(reader.pending), []
                await anyio.to_thread.run_sync(reader.upload.file.write, data)  # type: ignore[union-attr]
        parser.finalize()
        if not reader.ended:
            raise UploadInterruptedError("the upload ended before its closing boundary: nothing was stored")
        if reader.upload.file is not None:
            reader.upload.file.seek(0)
        return reader.upload
    except ClientDisconnect:
        reader.upload.close()
        raise UploadInterruptedError("the client went away during the upload: nothing was stored") from None
    except FormParserError as exc:
        reader.upload.close()
        raise InputError(f"the multipart body is malformed: {exc}") from None
    except BaseException:
        reader.upload.close()
        raise
