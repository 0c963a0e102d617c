"""Canonical JSON and content addressing.

Evidence is hashed, so its serialisation must be a pure function of its content: keys sorted, UTF-8 (no
``\\u`` escapes), no insignificant whitespace, datetimes as RFC 3339 UTC with a ``Z``. Anything that cannot be
represented without guessing (naive datetimes, non-string keys, NaN) is refused rather than coerced.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from kernel.errors import InputError


class CanonicalizationError(InputError):
    """A value has no single canonical JSON form."""


def rfc3339(moment: datetime) -> str:
    """Format an aware datetime as RFC 3339 in UTC, e.g. ``2026-11-27T22:31:00Z`` (microseconds kept if set)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise CanonicalizationError(f"naive datetime {moment.isoformat()} has no time zone; store UTC times")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _normalise(value: Any, path: str) -> Any:
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise CanonicalizationError(f"{path or '$'}: {value!r} is not representable in JSON")
        return value
    if isinstance(value, datetime):
        try:
            return rfc3339(value)
        except CanonicalizationError as exc:
            raise CanonicalizationError(f"{path or '$'}: {exc.message}") from None
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise CanonicalizationError(f"{path or '$'}: {value} is not representable in JSON")
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalizationError(f"{path or '$'}: key {key!r} is not a string")
            out[key] = _normalise(item, f"{path}.{key}")
        return out
    if isinstance(value, list | tuple):
        return [_normalise(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, set | frozenset):
        items = [_normalise(item, f"{path}[]") for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True, ensure_ascii=False))
    raise CanonicalizationError(f"{path or '$'}: values of type {type(value).__name__} have no JSON form")


def canonical_json(value: Any) -> bytes:
    """Serialise ``value`` to canonical JSON bytes."""
    return json.dumps(
        _normalise(value, ""),
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        allow_nan=False,
    ).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_address(value: Any) -> tuple[str, bytes]:
    """Return ``(sha256, canonical bytes)`` for a payload."""
    data = canonical_json(value)
    return sha256_hex(data), data
