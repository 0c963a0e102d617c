"""Delivering one notification to one webhook: an HTTPS POST of the JSON body, signed (`api.webhooks.signing`), with
a timeout per attempt and bounded retries, each attempt written to the delivery log (`webhook_deliveries`).

    deliver(engine, webhook, body, event=, delivery_id=, timestamp=, run_id=, policy=) -> Delivery

Retried (exponential backoff from `policy.backoff` seconds, doubling, at most `policy.max_backoff`, or what
Retry-After asks within that bound; at most `policy.attempts` attempts): timeouts, connection failures, 408, 429
and 5xx answers. Not retried: other 4xx and redirects (the URL is wrong; retrying cannot fix it). Nothing here
raises: a webhook that fails is logged (target only: scheme and host) and recorded, and the capture it reports on
is already sealed.
"""

from __future__ import annotations

import hashlib
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, update

from api.webhooks.models import WebhookDelivery
from api.webhooks.signing import DELIVERY, EVENT, SIGNATURE, TIMESTAMP, signature
from core.clock import utcnow
from evidence.db import session_factory

log = logging.getLogger("auditpack.webhooks")
USER_AGENT = "auditpack-webhooks/1"
_RETRIED_STATUSES = frozenset({408, 429})


def redacted(url: str) -> str:
    """scheme://host[:port] and `/…` when there is a path: what logs and the delivery log may show of a URL."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    path = "/…" if parts.path not in ("", "/") or parts.query else ""
    return f"{parts.scheme}://{host}{port}{path}"


@dataclass(frozen=True)
class Webhook:
    """A receiver: its URL and the secret its requests are signed with (neither is ever shown)."""

    url: str = field(repr=False)
    secret: bytes = field(repr=False)

    @property
    def target(self) -> str:
        return redacted(self.url)

    @property
    def target_sha256(self) -> str:
        return hashlib.sha256(self.url.encode("utf-8")).hexdigest()

    def __repr__(self) -> str:
        return f"Webhook(target={self.target!r})"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 4
    timeout: float = 10.0  # seconds per attempt (connect and read)
    backoff: float = 1.0  # before the second attempt; doubles
    max_backoff: float = 30.0


@dataclass(frozen=True, slots=True)
class Delivery:
    delivery_id: str
    target: str
    status: str  # delivered | failed
    attempts: int
    http_status: int | None
    error: str | None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an answer (3xx), not followed: POST bodies are not re-sent elsewhere


_OPENER = urllib.request.build_opener(_NoRedirect)


def _attempt(
    webhook: Webhook, body: bytes, headers: dict[str, str], timeout: float
) -> tuple[int | None, str | None, float | None]:
    """One POST: (HTTP status or None, error or None, Retry-After seconds or None)."""
    request = urllib.request.Request(webhook.url, data=body, headers=headers, method="POST")  # noqa: S310 - https or loopback http, checked by the settings
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read(1024)
            return int(response.status), None, None
    except urllib.error.HTTPError as exc:
        retry_after = exc.headers.get("Retry-After") if exc.headers else None
        try:
            wait = float(retry_after) if retry_after is not None else None
        except ValueError:
            wait = None
        return int(exc.code), f"HTTP {exc.code} {exc.reason}".strip(), wait
    except TimeoutError:
        return None, f"no answer within {timeout:g} s", None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            return None, f"no answer within {timeout:g} s", None
        return None, f"cannot connect: {reason}", None
    except OSError as exc:
        return None, f"{type(exc).__name__}: {exc}", None


def _retryable(status: int | None) -> bool:
    return status is None or status in _RETRIED_STATUSES or status >= 500


def deliver(
    engine: Engine | None,
    webhook: Webhook,
    body: bytes,
    *,
    event: str,
    delivery_id: str,
    timestamp: int,
    run_id: int | None = None,
    policy: RetryPolicy = RetryPolicy(),
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], datetime] = utcnow,
) -> Delivery:
    """POST `body` to `webhook` until it is accepted (2xx) or the policy gives up. `engine` None: no delivery log
    (nothing to record it in); otherwise every attempt is recorded as it ends."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE: signature(webhook.secret, body),
        TIMESTAMP: str(timestamp),
        DELIVERY: delivery_id,
        EVENT: event,
    }
    row_id = _start(engine, webhook, body, event=event, delivery_id=delivery_id, run_id=run_id, clock=clock)
    attempts: list[dict[str, Any]] = []
    status: int | None = None
    error: str | None = None
    for attempt in range(1, policy.attempts + 1):
        started = time.monotonic()
        status, error, retry_after = _attempt(webhook, body, headers, policy.timeout)
        ok = status is not None and 200 <= status < 300
        attempts.append(
            {
                "at": clock().isoformat(),
                "http_status": status,
                "error": error,
                "seconds": round(time.monotonic() - started, 3),
            }
        )
        last = ok or not _retryable(status) or attempt == policy.attempts
        _record(
            engine, row_id, attempts, status, error, ("delivered" if ok else "failed") if last else "pending", clock
        )
        if ok:
            log.info(
                "notification %s delivered to %s (HTTP %s, attempt %d)", delivery_id, webhook.target, status, attempt
            )
            return Delivery(delivery_id, webhook.target, "delivered", attempt, status, None)
        if last:
            break
        wait = min(policy.max_backoff, policy.backoff * 2 ** (attempt - 1))
        if retry_after is not None:
            wait = min(policy.max_backoff, max(wait, retry_after))
        log.warning(
            "notification %s to %s failed (%s); attempt %d of %d again in %.1f s",
            delivery_id,
            webhook.target,
            error,
            attempt + 1,
            policy.attempts,
            wait,
        )
        sleep(wait)
    log.error("notification %s to %s failed after %d attempt(s): %s", delivery_id, webhook.target, len(attempts), error)
    return Delivery(delivery_id, webhook.target, "failed", len(attempts), status, error)


def _start(
    engine: Engine | None,
    webhook: Webhook,
    body: bytes,
    *,
    event: str,
    delivery_id: str,
    run_id: int | None,
    clock: Callable[[], datetime],
) -> int | None:
    if engine is None:
        return None
    try:
        with session_factory(engine).begin() as session:
            row = WebhookDelivery(
                delivery_id=delivery_id,
                event=event,
                run_id=run_id,
                target=webhook.target,
                target_sha256=webhook.target_sha256,
                status="pending",
                attempts=0,
                body_sha256=hashlib.sha256(body).hexdigest(),
                created_at=clock(),
                attempt_log=[],
            )
            session.add(row)
            session.flush()
            return int(row.id)
    except Exception:  # the log is for people; the notification still goes out
        log.exception("could not record notification %s in the delivery log", delivery_id)
        return None


def _record(
    engine: Engine | None,
    row_id: int | None,
    attempts: list[dict[str, Any]],
    status: int | None,
    error: str | None,
    state: str,
    clock: Callable[[], datetime],
) -> None:
    if engine is None or row_id is None:
        return
    try:
        with session_factory(engine).begin() as session:
            session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == row_id)
                .values(
                    status=state,
                    attempts=len(attempts),
                    http_status=status,
                    error=error,
                    attempt_log=list(attempts),
                    finished_at=None if state == "pending" else clock(),
                )
            )
    except Exception:
        log.exception("could not update delivery log row %s", row_id)
