"""Canonical JSON and content addressing, in versions.

Everything auditpack hashes (evidence payloads, chain records and digests, findings digests, the customer ledger,
the access log) is hashed over canonical JSON, so its serialisation must be a pure function of its content. Every
stored hash records the *canonical version* it was computed with, and verification recomputes with that version:

1 (`LEGACY`)  auditpack's own form, used before RFC 8785: Python's `json.dumps` with sorted keys (by code point),
              UTF-8 without ``\\u`` escapes, no whitespace; floats as Python writes them (``1.0``, ``1e-07``).
2 (`JCS`)     RFC 8785, the JSON Canonicalization Scheme, serialised by the `rfc8785` package: keys sorted by
              their UTF-16 code units, numbers as ECMAScript writes them (``1``, ``1e-7``), so any JCS
              implementation in any language reproduces the bytes and the hash. New records use it.

Both versions first normalise the value the same way: datetimes become RFC 3339 UTC text with a ``Z``, dates ISO
dates, whole `Decimal`s integers and others floats, bytes ``{"$base64": ...}``, tuples lists, sets sorted lists.
Anything that cannot be represented without guessing is refused with its path: naive datetimes, non-string keys,
NaN and infinities, text that is not valid Unicode (lone surrogates), and, in version 2, integers beyond
±(2**53 - 1). JCS numbers are IEEE 754 doubles, so another implementation would read such an integer as a
different number and compute another hash; RFC 8785 (appendix D) says to carry them as strings, which is the
caller's decision to make (e.g. a collector storing an identifier as text), never a silent conversion here.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import rfc8785

from core.errors import InputError, VerificationError

LEGACY = 1
JCS = 2
VERSIONS = (LEGACY, JCS)
# The version new records are written with. Writers read it as `canonical.CURRENT_VERSION` when they write (not
# imported by name), so it stays the one place that decides.
CURRENT_VERSION = JCS
# For hashes only auditpack itself ever recomputes (signed pagination cursors, request fingerprints of idempotent
# requests): nobody else needs them in RFC 8785, they must take any 64-bit id a client sends, and staying on
# version 1 keeps the cursors and keys issued before the upgrade valid.
FINGERPRINT_VERSION = LEGACY

# RFC 8785 section 3.2.2.3 / I-JSON: integers a double holds exactly.
MAX_SAFE_INTEGER = 2**53 - 1


class CanonicalizationError(InputError):
    """A value has no single canonical JSON form."""


class CanonicalVersionError(VerificationError):
    """A stored hash names a canonical version this auditpack does not know (a newer writer, or an altered row)."""


def check_version(version: int) -> int:
    """Return `version` if it is one this auditpack can recompute; raise `CanonicalVersionError` otherwise."""
    if version not in VERSIONS:
        known = " and ".join(str(v) for v in VERSIONS)
        raise CanonicalVersionError(
            f"canonical version {version!r} is unknown to this auditpack (it knows {known})",
            hint="upgrade auditpack if a newer one wrote it; otherwise the stored version was altered",
        )
    return version


def rfc3339(moment: datetime) -> str:
    """Format an aware datetime as RFC 3339 in UTC, e.g. ``2026-11-27T22:31:00Z`` (microseconds kept if set)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise CanonicalizationError(f"naive datetime {moment.isoformat()} has no time zone; store UTC times")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _text(value: str, path: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalizationError(
            f"{path}: text holds {value[exc.start : exc.end]!r} at offset {exc.start}, which is not a "
            "Unicode character (a lone surrogate) and has no UTF-8 form"
        ) from None
    return value


def _normalise(value: Any, path: str, version: int) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _text(value, path)
    if isinstance(value, int):
        if version >= JCS and abs(value) > MAX_SAFE_INTEGER:
            raise CanonicalizationError(
                f"{path}: integer {value} is beyond ±(2**53 - 1); RFC 8785 numbers are IEEE 754 doubles, "
                "which cannot hold it exactly",
                hint="store such numbers as text (a string) where they are read",
            )
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise CanonicalizationError(f"{path}: {value!r} is not representable in JSON")
        return value
    if isinstance(value, datetime):
        try:
            return rfc3339(value)
        except CanonicalizationError as exc:
            raise CanonicalizationError(f"{path}: {exc.message}") from None
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise CanonicalizationError(f"{path}: {value} is not representable in JSON")
        whole = value == value.to_integral_value()
        return _normalise(int(value), path, version) if whole else float(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalizationError(f"{path}: key {key!r} is not a string")
            out[_text(key, path)] = _normalise(item, f"{path}.{key}", version)
        return out
    if isinstance(value, list | tuple):
        return [_normalise(item, f"{path}[{i}]", version) for i, item in enumerate(value)]
    if isinstance(value, set | frozenset):
        items = [_normalise(item, f"{path}[]", version) for item in value]
        return sorted(items, key=lambda item: _set_order(item, version))
    raise CanonicalizationError(f"{path}: values of type {type(value).__name__} have no JSON form")


def _set_order(item: Any, version: int) -> bytes | str:
    if version == LEGACY:  # the order version 1 gave sets, kept exactly
        return json.dumps(item, sort_keys=True, ensure_ascii=False)
    return rfc8785.dumps(item)


def _serialise(normalised: Any, version: int) -> bytes:
    if version == JCS:
        return rfc8785.dumps(normalised)
    return json.dumps(  # LEGACY, byte for byte what auditpack wrote before RFC 8785
        normalised, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def canonical_json(value: Any, *, version: int) -> bytes:
    """Serialise `value` to canonical JSON bytes in `version`: always named by the caller, which stores it beside
    the hash (new records: `CURRENT_VERSION`)."""
    check_version(version)
    return _serialise(_normalise(value, "$", version), version)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_address(value: Any, *, version: int) -> tuple[str, bytes]:
    """Return ``(sha256, canonical bytes)`` for a payload."""
    data = canonical_json(value, version=version)
    return sha256_hex(data), data
