"""Webhook deliveries against a real HTTP server on 127.0.0.1: signed over the exact body (checked the way a receiver
does, and with the snippet docs/drift.md gives), retried with backoff on 5xx, not on 4xx, given up after timeouts,
and every attempt in the delivery log (both backends) without the URL's secret path."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from api.webhooks.delivery import RetryPolicy, Webhook, deliver
from api.webhooks.dispatch import Hooks, body_for, send
from api.webhooks.models import WebhookDelivery
from api.webhooks.signing import verify
from core.errors import VerificationError
from evidence.db import session_factory
from tests.api.receiver import receiver

SECRET = b"a-webhook-secret-of-32-characters"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "drift.md"


def _log(engine: Engine) -> list[WebhookDelivery]:
    with session_factory(engine)() as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_a_notification_is_signed_over_its_exact_body_and_logged(engine: Engine) -> None:
    with receiver() as hook:
        [done] = send(
            engine, Hooks((Webhook(hook.url, SECRET),)), {"text": "hello", "run": {"id": 7}}, event="test", run_id=7
        )
        [request] = hook.wait_for(1)
    assert done.status == "delivered" and done.attempts == 1 and done.http_status == 200
    payload = verify(request.body, request.headers, SECRET)
    assert payload["type"] == "auditpack.test" and payload["text"] == "hello"
    assert payload["delivery_id"] == request.headers["X-Auditpack-Delivery"] == done.delivery_id
    assert request.headers["Content-Type"] == "application/json" and request.headers["X-Auditpack-Event"] == "test"
    with pytest.raises(VerificationError, match="does not match"):
        verify(request.body, request.headers, b"another secret entirely")
    with pytest.raises(VerificationError, match="does not match"):
        verify(request.body.replace(b"hello", b"hullo"), request.headers, SECRET)
    with pytest.raises(VerificationError, match="replay"):
        verify(request.body, request.headers, SECRET, now=payload["timestamp"] + 600)
    [row] = _log(engine)
    assert (row.delivery_id, row.run_id, row.status, row.attempts, row.http_status) == (
        done.delivery_id,
        7,
        "delivered",
        1,
        200,
    )
    # The URL's path holds the receiver's token: the log and the outcome show scheme and host only.
    assert row.target == done.target == re.sub(r"(:\d+)/.*", r"\1/…", hook.url)
    assert "secret-token" not in f"{row.target} {row.error} {row.attempt_log} {done!r} {Webhook(hook.url, SECRET)!r}"


def test_5xx_is_retried_with_backoff_and_4xx_is_not(engine: Engine) -> None:
    waits: list[float] = []
    body = body_for({"text": "x"}, event="capture", delivery_id="d-1", timestamp=int(time.time()))
    with receiver() as hook:
        hook.statuses = [500, 503, 429]
        webhook = Webhook(hook.url, SECRET)
        delivered = deliver(engine, webhook, body, event="capture", delivery_id="d-1", timestamp=1, sleep=waits.append)
        assert delivered.status == "delivered" and delivered.attempts == 4
        assert waits == [1.0, 2.0, 4.0]  # doubling from one second
        assert len({r.headers["X-Auditpack-Signature"] for r in hook.requests}) == 1  # the same signed body each time
        assert {r.body for r in hook.requests} == {body}
        hook.statuses = [404]
        refused = deliver(engine, webhook, body, event="capture", delivery_id="d-2", timestamp=1, sleep=waits.append)
        hook.statuses = [500] * 5
        gave_up = deliver(
            engine,
            webhook,
            body,
            event="capture",
            delivery_id="d-3",
            timestamp=1,
            sleep=waits.append,
            policy=RetryPolicy(attempts=2),
        )
    assert (refused.status, refused.attempts, refused.http_status) == ("failed", 1, 404)
    assert (gave_up.status, gave_up.attempts, gave_up.error) == ("failed", 2, "HTTP 500 Internal Server Error")
    rows = {row.delivery_id: row for row in _log(engine)}
    assert [a["http_status"] for a in rows["d-1"].attempt_log] == [500, 503, 429, 200]
    assert (rows["d-2"].status, rows["d-3"].status, rows["d-3"].attempts) == ("failed", "failed", 2)
    assert rows["d-3"].finished_at is not None


@pytest.mark.usefixtures("sqlite_only")
def test_a_receiver_that_does_not_answer_times_out_and_one_that_is_down_fails(engine: Engine) -> None:
    waits: list[float] = []
    policy = RetryPolicy(attempts=2, timeout=0.2)
    with receiver() as hook:
        hook.hold = threading.Event()
        slow = deliver(
            engine,
            Webhook(hook.url, SECRET),
            b"{}",
            event="test",
            delivery_id="slow",
            timestamp=1,
            sleep=waits.append,
            policy=policy,
        )
        hook.hold.set()
    assert (slow.status, slow.attempts, slow.error) == ("failed", 2, "no answer within 0.2 s") and waits == [1.0]
    down = deliver(
        None,
        Webhook(hook.url, SECRET),
        b"{}",
        event="test",
        delivery_id="down",
        timestamp=1,
        sleep=waits.append,
        policy=policy,
    )
    assert down.status == "failed" and down.error is not None and down.error.startswith("cannot connect")


@pytest.mark.usefixtures("sqlite_only")
def test_the_verification_snippet_in_the_docs_works() -> None:
    snippet = re.search(r"<!-- webhook-verify:begin -->\n```python\n(.*?)```", DOCS.read_text(), re.S)
    assert snippet is not None, "docs/drift.md lost its verification snippet"
    namespace: dict[str, object] = {}
    exec(compile(snippet.group(1), "drift.md", "exec"), namespace)
    check = namespace["verify_notification"]
    with receiver() as hook:
        send(None, Hooks((Webhook(hook.url, SECRET),)), {"text": "hi"}, event="test")
        [request] = hook.wait_for(1)
    assert check(request.body, request.headers, SECRET)["text"] == "hi"  # type: ignore[operator]
    with pytest.raises(ValueError):
        check(request.body + b" ", request.headers, SECRET)  # type: ignore[operator]
    assert json.loads(request.body)["timestamp"] == int(request.headers["X-Auditpack-Timestamp"])
