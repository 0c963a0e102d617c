"""Opaque keyset-pagination cursors: base64url of a small JSON object, bound to the query they came from.

A cursor is not a secret and grants nothing (every query re-applies the caller's visibility), but it is tied to
its filters so a cursor pasted onto a different query is refused instead of silently skipping rows.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from evidence.canonical import canonical_json, sha256_hex
from evidence.errors import InputError

_VERSION = 1


def query_fingerprint(filters: dict[str, Any]) -> str:
    return sha256_hex(canonical_json(filters))[:16]


def encode(position: dict[str, Any], *, filters: dict[str, Any]) -> str:
    body = {"v": _VERSION, "q": query_fingerprint(filters), "p": position}
    return base64.urlsafe_b64encode(canonical_json(body)).decode("ascii").rstrip("=")


def decode(cursor: str, *, filters: dict[str, Any]) -> dict[str, Any]:
    """The position inside a cursor made by `encode` for the same filters; `InputError` otherwise."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InputError("the cursor is not one this API issued: pass next_cursor from a previous page") from None
    if not isinstance(body, dict) or body.get("v") != _VERSION or not isinstance(body.get("p"), dict):
        raise InputError("the cursor is not one this API issued: pass next_cursor from a previous page")
    if body.get("q") != query_fingerprint(filters):
        raise InputError("the cursor belongs to a query with different filters; start again without a cursor")
    return body["p"]


def int_position(position: dict[str, Any], key: str) -> int:
    value = position.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InputError("the cursor is not one this API issued: pass next_cursor from a previous page")
    return value
