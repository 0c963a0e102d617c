"""Idempotency-Keys for requests whose result is a customer-evidence row (an item, an exception, a review).

The customer store writes in its own transaction and knows nothing of HTTP, so the key is kept beside it in
`api_idempotency_keys`, in three steps:

1. `claim` reserves (token, key) with the request's fingerprint before the work. The unique constraint decides
   between concurrent requests: the loser finds the winner's row and gets its result (replay), a 409 while the
   winner is still working, or a 422 when the key came with a different request.
2. `complete` records the id the work produced; later requests with the key replay it.
3. `release` removes the reservation when the work failed, so the client may retry with the same key (the store
   wrote nothing: its submissions are one transaction).

A reservation whose request died between 1 and 2 (the process was killed) is taken over after `STALE_AFTER`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api.errors import IdempotencyKeyReusedError
from api.models import IdempotencyRecord
from api.principal import Principal
from core.canonical import FINGERPRINT_VERSION, canonical_json, sha256_hex
from core.errors import ConflictError

STALE_AFTER = timedelta(hours=1)  # longer than any upload of the largest allowed file takes
T = TypeVar("T")


def fingerprint(operation: str, fields: dict[str, Any]) -> str:
    """SHA-256 of the canonical request: the operation (method and route) and every field that shapes the result."""
    return sha256_hex(canonical_json({"operation": operation, "fields": fields}, version=FINGERPRINT_VERSION))


def once(
    sessions: sessionmaker[Session],
    *,
    principal: Principal,
    key: str | None,
    request_sha256: str,
    now: datetime,
    work: Callable[[], T],
    produced: Callable[[T], int],
    replay: Callable[[int], T],
) -> tuple[T, bool]:
    """`work()` once per key: (its result, True), or (the earlier result re-read by `replay`, False)."""
    earlier = claim(sessions, principal=principal, key=key, request_sha256=request_sha256, now=now)
    if earlier is not None:
        return replay(earlier), False
    try:
        result = work()
    except BaseException:
        release(sessions, principal=principal, key=key)
        raise
    complete(sessions, principal=principal, key=key, resource_id=produced(result))
    return result, True


def claim(
    sessions: sessionmaker[Session], *, principal: Principal, key: str | None, request_sha256: str, now: datetime
) -> int | None:
    """Reserve `key`; returns None to go ahead (or when there is no key), or the id an earlier request produced."""
    if key is None:
        return None
    try:
        with sessions.begin() as session:
            session.add(
                IdempotencyRecord(
                    token_id=principal.token_id, idempotency_key=key, request_sha256=request_sha256, created_at=now
                )
            )
        return None
    except IntegrityError:
        pass
    with sessions.begin() as session:
        existing = session.scalars(_by_key(principal, key)).one()
        if existing.request_sha256 != request_sha256:
            raise IdempotencyKeyReusedError(
                f"Idempotency-Key {key!r} was already used for a different request",
                hint="use a new key for a new request",
            )
        if existing.resource_id is not None:
            return existing.resource_id
        if now - existing.created_at < STALE_AFTER:
            raise ConflictError(
                f"a request with Idempotency-Key {key!r} is still being processed",
                hint="retry shortly with the same key to get its result",
            )
        # Left by a request whose process died: take it over (only one taker wins the conditional update).
        taken = session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.id == existing.id, IdempotencyRecord.created_at == existing.created_at)
            .values(created_at=now)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            raise ConflictError(f"a request with Idempotency-Key {key!r} is still being processed")
    return None


def complete(sessions: sessionmaker[Session], *, principal: Principal, key: str | None, resource_id: int) -> None:
    if key is None:
        return
    with sessions.begin() as session:
        session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.token_id == principal.token_id, IdempotencyRecord.idempotency_key == key)
            .values(resource_id=resource_id)
        )


def release(sessions: sessionmaker[Session], *, principal: Principal, key: str | None) -> None:
    if key is None:
        return
    with sessions.begin() as session:
        session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.token_id == principal.token_id,
                IdempotencyRecord.idempotency_key == key,
                IdempotencyRecord.resource_id.is_(None),
            )
        )


def _by_key(principal: Principal, key: str):  # type: ignore[no-untyped-def]
    return select(IdempotencyRecord).where(
        IdempotencyRecord.token_id == principal.token_id, IdempotencyRecord.idempotency_key == key
    )
