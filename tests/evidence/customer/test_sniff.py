"""Media types come from the bytes: the accepted kinds are recognised, anything else is refused precisely."""

from __future__ import annotations

import io
import zipfile

import pytest

from core.errors import InputError
from evidence.customer.content import staged
from evidence.customer.sniff import UnsupportedMediaError


def _media(data: bytes) -> str:
    with staged(io.BytesIO(data), max_bytes=10_000_000) as content:
        return content.media_type


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<xml/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (
            _zip("[Content_Types].xml", "word/document.xml"),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            _zip("[Content_Types].xml", "xl/workbook.xml"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (b'{"users": [{"name": "dana", "mfa": true}]}', "application/json"),
        (b"user,mfa,last_login\ndana,true,2025-11-01\nlee,false,2025-10-30\n", "text/csv"),
        (b"# Incident response plan\n\n1. Detect\n2. Contain\n", "text/markdown"),
        ("Wir bestätigen die Schulung aller Mitarbeitenden.\n".encode(), "text/plain"),
        (b"[not json] but text\n", "text/plain"),
    ],
)
def test_accepted_types_are_recognised_from_their_bytes(data: bytes, expected: str) -> None:
    assert _media(data) == expected


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"MZ\x90\x00\x03\x00\x00\x00", r"not UTF-8 text \(byte 2 is not UTF-8\); it starts with 4d 5a 90 00"),
        (b"GIF89a\x01\x00", r"control character"),
        (_zip("payload.exe"), "only Office Open XML documents"),
        (b"PK\x03\x04 truncated", "starts like a ZIP file but is not one"),
        (b"", "the content is empty"),
    ],
)
def test_other_content_is_refused_saying_what_it_is(data: bytes, message: str) -> None:
    with pytest.raises(UnsupportedMediaError, match=message):
        _media(data)


def test_content_over_the_limit_is_refused_as_it_is_read() -> None:
    with (
        pytest.raises(InputError, match="larger than the limit of 1,024 bytes"),
        staged(io.BytesIO(b"%PDF-" + b"x" * 2000), max_bytes=1024),
    ):
        pass
