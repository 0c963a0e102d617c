"""Opaque keyset-pagination cursors: a small JSON body bound to its query, signed with HMAC-SHA256.

    cursor = base64url(canonical JSON {"v": 2, "q": query fingerprint, "p": position}) "." base64url(HMAC-SHA256)

A cursor grants nothing (every query re-applies the caller's visibility), but its position goes into SQL: signing
means only positions this server wrote come back, so a hand-made cursor (a position of 2**70, a naive timestamp)
is a clean 400 instead of whatever the database makes of it. The fingerprint still ties a cursor to its filters.
Every failure is an `InvalidCursorError` (400, code `invalid_cursor`) saying what was wrong.

The key comes from AUDITPACK_CURSOR_SECRET or, when unset, a random secret kept in the data directory
(`api.secrets`). Rotating it invalidates outstanding cursors, nothing else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from api.errors import InvalidCursorError
from api.parsing import MAX_INT63, ParameterError, parse_instant
from core.canonical import FINGERPRINT_VERSION, canonical_json, sha256_hex

_VERSION = 2
_B64URL = re.compile(r"[A-Za-z0-9_-]+")
_SIGNATURE_CHARS = 43  # base64url of 32 bytes, unpadded
_RESTART = "pass next_cursor from a previous page, or start again without a cursor"


def query_fingerprint(filters: dict[str, Any]) -> str:
    return sha256_hex(canonical_json(filters, version=FINGERPRINT_VERSION))[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes | None:
    """Bytes of canonical unpadded base64url, or None: other spellings of the same bytes (padding, stray
    characters, non-zero trailing bits) are refused so that every change to a cursor is detected."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        return None
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):  # pragma: no cover - excluded by the checks above
        return None
    return data if _b64(data) == text else None


@dataclass(frozen=True, slots=True)
class CursorCodec:
    """Signs and checks cursors with one key (derived from the configured secret, never shown)."""

    key: bytes = field(repr=False)

    @classmethod
    def from_secret(cls, secret: bytes) -> CursorCodec:
        # A key of its own, so the secret could sign something else one day without the two being confused.
        return cls(hmac.new(secret, b"auditpack cursor v2", hashlib.sha256).digest())

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self.key, body, hashlib.sha256).digest()

    def encode(self, position: dict[str, Any], *, filters: dict[str, Any]) -> str:
        body = canonical_json(
            {"v": _VERSION, "q": query_fingerprint(filters), "p": position}, version=FINGERPRINT_VERSION
        )
        return f"{_b64(body)}.{_b64(self._mac(body))}"

    def decode(self, cursor: str, *, filters: dict[str, Any]) -> dict[str, Any]:
        """The position inside a cursor this server signed for the same filters; `InvalidCursorError` otherwise."""
        encoded_body, dot, encoded_mac = cursor.partition(".")
        if not _B64URL.fullmatch(encoded_body) or (dot and not _B64URL.fullmatch(encoded_mac)):
            raise InvalidCursorError(
                "the cursor is malformed: expected two base64url parts joined by '.'", hint=_RESTART
            )
        body = _unb64(encoded_body)
        if body is None:
            raise InvalidCursorError(
                "the cursor is malformed: its first part is not canonical base64url", hint=_RESTART
            )
        if not dot:
            raise InvalidCursorError(
                "the cursor carries no signature: it is not one this API issued (cursors from before signed "
                "cursors are no longer accepted)",
                hint=_RESTART,
            )
        mac = _unb64(encoded_mac) if len(encoded_mac) == _SIGNATURE_CHARS else None
        if mac is None or not hmac.compare_digest(mac, self._mac(body)):
            raise InvalidCursorError(
                "the cursor's signature does not match: it was altered, cut short, or signed with another "
                "server secret",
                hint=_RESTART,
            )
        try:
            content = json.loads(body)
        except ValueError:  # signed by us, so never in practice; still an input error, not a 500
            content = None
        if not isinstance(content, dict) or content.get("v") != _VERSION or not isinstance(content.get("p"), dict):
            raise InvalidCursorError("the cursor's content is not in the expected form", hint=_RESTART)
        if content.get("q") != query_fingerprint(filters):
            raise InvalidCursorError(
                "the cursor belongs to a query with different filters; start again without a cursor"
            )
        return content["p"]


def int_position(position: dict[str, Any], key: str) -> int:
    """A position field that is an id or sequence number: an integer in [0, 2**63 - 1] (PostgreSQL bigint)."""
    value = position.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_INT63:
        raise InvalidCursorError(f"the cursor's position {key!r} is not an integer from 0 to {MAX_INT63}")
    return value


def instant_position(position: dict[str, Any], key: str) -> datetime:
    """A position field that is a moment: RFC 3339 with a zone, within the range instants are accepted in."""
    value = position.get(key)
    try:
        moment = parse_instant(value) if isinstance(value, str) else None
    except ParameterError as exc:
        raise InvalidCursorError(f"the cursor's position {key!r}: {exc.message}") from None
    if not isinstance(moment, datetime):
        raise InvalidCursorError(f"the cursor's position {key!r} is not an RFC 3339 date-time with a zone")
    return moment


def str_position(position: dict[str, Any], key: str, *, max_length: int) -> str:
    value = position.get(key)
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise InvalidCursorError(f"the cursor's position {key!r} is not a string of 1 to {max_length} characters")
    return value
