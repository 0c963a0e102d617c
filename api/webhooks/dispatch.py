"""Sending one notification to every configured webhook: each gets its own delivery id and signed body.

    send(engine, hooks, payload, event=, run_id=) -> [Delivery, ...]        waits for every webhook
    Dispatcher(engine, hooks).submit(payload, ...)                          returns at once; a thread delivers

The body is the payload plus `type`, `delivery_id` and `timestamp` (Unix seconds, also X-Auditpack-Timestamp),
serialised once with sorted keys; the signature is over exactly those bytes.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from api.webhooks.delivery import Delivery, RetryPolicy, Webhook, deliver

log = logging.getLogger("auditpack.webhooks")
PAYLOAD_VERSION = 1


@dataclass(frozen=True)
class Hooks:
    """The configured webhooks and how hard to try each."""

    webhooks: tuple[Webhook, ...] = ()
    policy: RetryPolicy = field(default_factory=RetryPolicy)

    def __bool__(self) -> bool:
        return bool(self.webhooks)


def body_for(payload: Mapping[str, Any], *, event: str, delivery_id: str, timestamp: int) -> bytes:
    document = {**payload, "type": f"auditpack.{event}", "version": PAYLOAD_VERSION}
    document.update(delivery_id=delivery_id, timestamp=timestamp)
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def send(
    engine: Engine | None,
    hooks: Hooks,
    payload: Mapping[str, Any],
    *,
    event: str,
    run_id: int | None = None,
    sleep: Callable[[float], object] = time.sleep,
    now: Callable[[], float] = time.time,
) -> list[Delivery]:
    """Deliver `payload` to every webhook at once (one thread each); waits for all, never raises."""
    if not hooks.webhooks:
        return []

    def one(webhook: Webhook) -> Delivery:
        delivery_id = str(uuid.uuid4())
        timestamp = int(now())
        body = body_for(payload, event=event, delivery_id=delivery_id, timestamp=timestamp)
        try:
            return deliver(
                engine,
                webhook,
                body,
                event=event,
                delivery_id=delivery_id,
                timestamp=timestamp,
                run_id=run_id,
                policy=hooks.policy,
                sleep=sleep,
            )
        except Exception as exc:  # a bug here must not reach the capture that asked for the notification
            log.exception("notification %s to %s failed unexpectedly", delivery_id, webhook.target)
            return Delivery(delivery_id, webhook.target, "failed", 0, None, f"{type(exc).__name__}: {exc}")

    with ThreadPoolExecutor(max_workers=min(8, len(hooks.webhooks)), thread_name_prefix="auditpack-webhook") as pool:
        return list(pool.map(one, hooks.webhooks))


class Dispatcher:
    """Notifications in the background: `submit` returns at once, a daemon thread builds and delivers."""

    def __init__(self, engine: Engine | None, hooks: Hooks) -> None:
        self._engine, self._hooks = engine, hooks
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, build: Callable[[], Mapping[str, Any] | None], *, event: str, run_id: int | None) -> None:
        """Build the payload (in the thread: a diff may take a while) and send it; a failure is only logged."""
        if not self._hooks:
            return

        def work() -> None:
            try:
                payload = build()
                if payload is not None:
                    send(self._engine, self._hooks, payload, event=event, run_id=run_id)
            except Exception:
                log.exception("could not notify the webhooks about run %s", run_id)

        thread = threading.Thread(target=work, name=f"auditpack-notify-{run_id}", daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def wait(self, timeout: float) -> bool:
        """Wait until every submitted notification is delivered or given up (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in threads)


def summarize(deliveries: Sequence[Delivery]) -> str:
    return ", ".join(f"{d.target}: {d.status}" + (f" ({d.error})" if d.error else "") for d in deliveries)
