"""Media types from the bytes themselves; the client's file name and Content-Type are never trusted.

Accepted: PDF, PNG, JPEG, DOCX, XLSX, and UTF-8 text (JSON, CSV, Markdown or plain). Anything else is refused
with what it looks like. A small own sniffer rather than libmagic or a magic-number package: the binary types are
four signatures and a ZIP directory check, and none of those packages tells JSON, CSV and Markdown apart, which
is most of what customers upload. Accepting exactly this list is the point, so the list lives here.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
import zipfile
from typing import BinaryIO

from core.errors import InputError

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
JSON_TYPE = "application/json"
CSV_TYPE = "text/csv"
MARKDOWN = "text/markdown"
TEXT = "text/plain"
ALLOWED = (PDF, PNG, JPEG, DOCX, XLSX, JSON_TYPE, CSV_TYPE, MARKDOWN, TEXT)

HEAD_BYTES = 64 * 1024  # what text classification looks at
JSON_PARSE_LIMIT = 4 * 1024 * 1024  # parsed whole to be sure; larger JSON-looking text goes by its first character
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_MARKDOWN = re.compile(r"^(#{1,6} \S|```|~~~|(-{3,}|={3,})\s*$|> \S)|\[[^\]\n]+\]\([^)\s]+\)", re.M)


class UnsupportedMediaError(InputError):
    """The content is not one of the accepted types (HTTP 415)."""


class TextCheck:
    """Fed every chunk while content is hashed: is the whole of it UTF-8 text without control characters?"""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self.problem: str | None = None
        self._offset = 0

    def feed(self, chunk: bytes, *, final: bool = False) -> None:
        if self.problem is not None:
            return
        try:
            decoded = self._decoder.decode(chunk, final=final)
        except UnicodeDecodeError as exc:
            self.problem = f"byte {self._offset + exc.start} is not UTF-8"
            return
        bad = _CONTROL.search(decoded)
        if bad:
            self.problem = f"it contains the control character {bad.group()!r}"
        self._offset += len(chunk)

    @property
    def is_text(self) -> bool:
        return self.problem is None


def sniff(head: bytes, source: BinaryIO, *, size: int, text: TextCheck) -> str:
    """The media type of content whose first bytes are `head`; `source` (seekable) is read for ZIP and JSON."""
    if size == 0:
        raise UnsupportedMediaError("the content is empty")
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"PK\x03\x04"):
        return _office(source)
    if text.is_text:
        return _text_kind(head, source, size=size)
    raise UnsupportedMediaError(
        f"unsupported content: not PDF, PNG, JPEG, DOCX or XLSX, and not UTF-8 text ({text.problem}); "
        f"it starts with {head[:8].hex(' ')}",
        hint="accepted: " + ", ".join(ALLOWED),
    )


def _office(source: BinaryIO) -> str:
    source.seek(0)
    try:
        with zipfile.ZipFile(source) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnsupportedMediaError(f"the content starts like a ZIP file but is not one ({exc})") from None
    if "[Content_Types].xml" in names:
        if any(name.startswith("word/") for name in names):
            return DOCX
        if any(name.startswith("xl/") for name in names):
            return XLSX
    raise UnsupportedMediaError(
        "unsupported ZIP content: only Office Open XML documents (DOCX with word/, XLSX with xl/ and "
        "[Content_Types].xml) are accepted",
        hint="accepted: " + ", ".join(ALLOWED),
    )


def _text_kind(head: bytes, source: BinaryIO, *, size: int) -> str:
    sample = head[:HEAD_BYTES].decode("utf-8", errors="ignore").lstrip("\ufeff")
    stripped = sample.lstrip()
    if stripped[:1] in ("{", "["):
        if size > JSON_PARSE_LIMIT:
            return JSON_TYPE
        source.seek(0)
        try:
            json.loads(source.read().decode("utf-8-sig"))
            return JSON_TYPE
        except ValueError:
            pass  # brackets but not JSON: Markdown or plain text
    if _MARKDOWN.search(sample):
        return MARKDOWN
    if _looks_like_csv(sample, complete=size <= len(head)):
        return CSV_TYPE
    return TEXT


def _looks_like_csv(sample: str, *, complete: bool) -> bool:
    """At least two lines, and every (complete) line has the same number, two or more, of delimited fields."""
    lines = sample.splitlines()
    if not complete and len(lines) > 1:
        lines = lines[:-1]  # the last line of a sample may be cut off
    lines = [line for line in lines[:50] if line.strip()]
    if len(lines) < 2:
        return False
    for delimiter in (",", ";", "\t"):
        try:
            widths = {len(row) for row in csv.reader(lines, delimiter=delimiter, strict=True)}
        except csv.Error:
            continue
        if len(widths) == 1 and widths.pop() >= 2:
            return True
    return False
