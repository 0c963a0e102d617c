"""How a notification is signed, and how a receiver checks it (docs/drift.md has the same check for receivers).

    X-Auditpack-Signature: sha256=<hex HMAC-SHA256(secret, the exact body bytes)>
    X-Auditpack-Timestamp: <Unix seconds when it was sent>      (also the body's "timestamp")
    X-Auditpack-Delivery:  <uuid>                               (also the body's "delivery_id")

The signature covers the body alone, byte for byte; the body carries the timestamp and the delivery id, so both are
signed: a receiver refuses a body older than a few minutes (a replay) and may remember delivery ids to refuse a
second copy within that window. Retries of one delivery send the same body (same id and timestamp).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from core.errors import VerificationError

SIGNATURE = "X-Auditpack-Signature"
TIMESTAMP = "X-Auditpack-Timestamp"
DELIVERY = "X-Auditpack-Delivery"
EVENT = "X-Auditpack-Event"
TOLERANCE_SECONDS = 300


def signature(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(
    body: bytes,
    headers: Mapping[str, str],
    secret: bytes,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> dict[str, Any]:
    """The payload of a notification whose signature and timestamp check out; `VerificationError` otherwise."""
    lowered = {key.lower(): value for key, value in headers.items()}
    given = lowered.get(SIGNATURE.lower(), "")
    if not hmac.compare_digest(signature(secret, body), given):
        raise VerificationError("the X-Auditpack-Signature does not match the body under this secret")
    payload = json.loads(body)
    if str(payload.get("timestamp")) != lowered.get(TIMESTAMP.lower()):
        raise VerificationError("the X-Auditpack-Timestamp header is not the signed body's timestamp")
    age = (time.time() if now is None else now) - float(payload["timestamp"])
    if abs(age) > tolerance:
        raise VerificationError(f"the notification is {age:.0f} s old; more than {tolerance} s is refused (replay)")
    return payload  # type: ignore[no-any-return]
