"""The manifest format: one JSON object, written and read as a stream.

    {"format": "auditpack-manifest/1", ...header keys...,
     "evidence":[
    {"sha256": ..., "run_id": ..., "account_id": ..., ...},
    ...
    ]}

`evidence` is always the last key and holds one entry per evidence item, one per line, so a manifest for a
million items is written and verified without holding it in memory. The bundle's manifest is the packet's
manifest with one more key in front, `bundle_files` (every other file in the zip with its sha256): the rest of
it is byte for byte the manifest embedded in the PDF, which the verifier checks.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from typing import IO, Any

import orjson

FORMAT = "auditpack-manifest/1"
EVIDENCE_KEY = b'"evidence":['
EVIDENCE_FIELDS = (
    "sha256",
    "run_id",
    "account_id",
    "region",
    "service",
    "resource_type",
    "resource_id",
    "kind",
    "observed_at",
    "owner",
    "canonical_version",  # the payload's serialisation: 1 auditpack's legacy form, 2 RFC 8785 (core.canonical)
)
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class ManifestFormatError(ValueError):
    """The manifest is not in the layout above (what was found, what was expected)."""


def header_bytes(header: dict[str, Any]) -> bytes:
    """The manifest up to and including the opening of the evidence array."""
    if "evidence" in header or "bundle_files" in header:
        raise ValueError("header keys 'evidence' and 'bundle_files' are reserved")
    body = _encode({"format": FORMAT, **header})
    return body[:-1].encode("utf-8") + b"," + EVIDENCE_KEY + b"\n"


def entry_bytes(values: tuple[Any, ...], first: bool) -> bytes:
    """One evidence line; `values` in EVIDENCE_FIELDS order. orjson writes the same bytes as `_encode` for these
    strings, ints and nulls (compact, UTF-8, the same escapes; tests/reports/test_body.py) at a
    twentieth of the cost: a million lines took ~6 s."""
    line = orjson.dumps(dict(zip(EVIDENCE_FIELDS, values, strict=True)))
    return line if first else b",\n" + line


FOOTER = b"\n]}\n"


def bundle_prefix(bundle_files: dict[str, Any]) -> bytes:
    """What the bundle's manifest has in front of the packet manifest's bytes (minus their opening brace)."""
    return b'{"bundle_files":' + _encode(bundle_files).encode("utf-8") + b","


def read_manifest(stream: IO[bytes], chunk_size: int = 1 << 20) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    """Parse a manifest from a binary stream: the header as a dict, and an iterator over evidence entries.

    The iterator must be consumed to the end to check the manifest's closing; it raises ManifestFormatError.
    """
    buffer = b""
    while (index := buffer.find(EVIDENCE_KEY)) < 0:
        chunk = stream.read(chunk_size)
        if not chunk:
            raise ManifestFormatError(f"no {EVIDENCE_KEY.decode()} array found; expected an auditpack manifest")
        buffer += chunk
    head, rest = buffer[:index], buffer[index + len(EVIDENCE_KEY) :]
    try:
        header = json.loads(head.rstrip().rstrip(b",") + b"}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ManifestFormatError(f"the manifest header is not valid JSON ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        found = header.get("format") if isinstance(header, dict) else type(header).__name__
        raise ManifestFormatError(f"manifest format is {found!r}; expected {FORMAT!r}")
    return header, _entries(rest, stream, chunk_size)


def _entries(buffer: bytes, stream: IO[bytes], chunk_size: int) -> Iterator[dict[str, Any]]:
    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    text, position, expect_value = utf8.decode(buffer), 0, True

    def refill() -> bool:
        nonlocal text, position
        chunk = stream.read(chunk_size)
        text, position = text[position:] + utf8.decode(chunk, final=not chunk), 0
        return bool(chunk)

    try:
        while True:
            while position < len(text) and text[position] in " \t\r\n":
                position += 1
            if position >= len(text):
                if not refill():
                    raise ManifestFormatError("the manifest ends inside the evidence array; expected ']}'")
                continue
            char = text[position]
            if char == "]":
                tail = text[position + 1 :] + utf8.decode(stream.read(), final=True)
                if tail.strip() != "}":
                    found = tail.strip()[:40]
                    raise ManifestFormatError(f"found {found!r} after the evidence array; expected '}}' and the end")
                return
            if char == ",":
                if expect_value:
                    raise ManifestFormatError("a stray ',' in the evidence array")
                expect_value, position = True, position + 1
                continue
            if not expect_value:
                raise ManifestFormatError(f"expected ',' or ']' in the evidence array, found {char!r}")
            try:
                value, end = decoder.raw_decode(text, position)
            except json.JSONDecodeError:
                if refill():  # the entry continues in the next chunk
                    continue
                raise ManifestFormatError(
                    f"an evidence entry is not valid JSON: {text[position : position + 60]!r}"
                ) from None
            if not isinstance(value, dict):
                raise ManifestFormatError(f"an evidence entry is a {type(value).__name__}; expected an object")
            yield value
            position, expect_value = end, False
    except UnicodeDecodeError as exc:
        raise ManifestFormatError(f"the manifest is not UTF-8 ({exc.reason} at byte {exc.start})") from None
