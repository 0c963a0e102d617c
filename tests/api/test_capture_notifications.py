"""After every capture, nightly or on demand, the webhooks hear about it: the API's collect jobs hand the summary to
a background notifier once the run is sealed. A receiver that is down changes nothing about the capture; a failed
capture is notified too."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from api.executors import CollectRequest, Executors
from api.models import Job
from api.webhooks.models import WebhookDelivery
from api.webhooks.signing import verify
from auditpack.notify import CaptureNotifier
from auditpack.settings import load_settings
from evidence.aws.accounts import CollectionFailed
from evidence.db import session_factory
from evidence.models import RunStatus
from evidence.store import EvidenceStore
from tests.api.conftest import auth, config, wait_for
from tests.api.executors import StoreCollector
from tests.api.receiver import receiver
from tests.moto_server import free_port

SECRET = "a-webhook-secret-of-32-characters"


def _notifier(monkeypatch: pytest.MonkeyPatch, store: EvidenceStore, url: str, attempts: int = 4) -> CaptureNotifier:
    monkeypatch.setenv("AUDITPACK_WEBHOOKS", url)
    monkeypatch.setenv("AUDITPACK_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("AUDITPACK_WEBHOOK_ATTEMPTS", str(attempts))
    monkeypatch.setenv("AUDITPACK_ORG_NAME", "Acme Health")
    return CaptureNotifier(load_settings(), store)


def _jobs(engine: Engine) -> list[Job]:
    with session_factory(engine)() as session:
        return list(session.scalars(select(Job).order_by(Job.id)))


def _deliveries(engine: Engine) -> list[WebhookDelivery]:
    with session_factory(engine)() as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_nightly_and_on_demand_captures_are_notified_signed(  # type: ignore[no-untyped-def]
    make_app: Callable[..., FastAPI],
    engine: Engine,
    store: EvidenceStore,
    collector: StoreCollector,
    officer: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = datetime(2026, 11, 27, 2, 40, tzinfo=UTC)  # 02:00's firing was missed: the app runs it when it starts
    with receiver() as hook:
        notifier = _notifier(monkeypatch, store, hook.url)
        app = make_app(
            executors=Executors(collect=collector, notify=notifier),
            config=config(schedule="0 2 * * *", schedule_grace_minutes=60),
            clock=lambda: now,
        )
        with TestClient(app) as client:
            nightly = verify(hook.wait_for(1)[0].body, hook.requests[0].headers, SECRET.encode())
            response = client.post("/v1/runs", json={"accounts": ["222222222222"]}, headers=auth(officer))
            assert response.status_code == 202, response.text
            [_, request] = hook.wait_for(2)
            on_demand = verify(request.body, request.headers, SECRET.encode())
            assert notifier.dispatcher.wait(20)
    assert nightly["type"] == "auditpack.capture" and nightly["organisation"] == "Acme Health"
    assert nightly["run"]["trigger"] == "schedule" and nightly["compared"] is False
    assert nightly["run"]["status"] == "partial" and nightly["gaps"]["count"] == 1  # StoreCollector records a gap
    assert nightly["text"].startswith("auditpack capture for Acme Health: run 1 PARTIAL (3 evidence items, 1 gap(s)")
    assert on_demand["run"]["trigger"] == "api" and on_demand["run"]["id"] == 2
    assert on_demand["previous_run"] is not None and on_demand["previous_run"]["id"] == nightly["run"]["id"]
    assert on_demand["compared"] is True and set(on_demand["counts"]) == {
        "newly_failing",
        "resolved",
        "still_failing",
        "unverified",
    }
    assert [(d.event, d.run_id, d.status) for d in _deliveries(engine)] == [
        ("capture", 1, "delivered"),
        ("capture", 2, "delivered"),
    ]
    assert [job.status for job in _jobs(engine)] == ["done", "done"]


def test_a_receiver_that_is_down_never_fails_the_capture_and_a_failed_capture_is_notified(  # type: ignore[no-untyped-def]
    make_app: Callable[..., FastAPI],
    engine: Engine,
    store: EvidenceStore,
    officer: str,
    monkeypatch: pytest.MonkeyPatch,
    sqlite_only: None,
) -> None:
    collector = StoreCollector(store)
    down = _notifier(monkeypatch, store, f"http://127.0.0.1:{free_port()}/hook", attempts=1)
    with TestClient(make_app(executors=Executors(collect=collector, notify=down))) as client:
        assert client.post("/v1/runs", json={}, headers=auth(officer)).status_code == 202
        wait_for(lambda: _jobs(engine) and _jobs(engine)[0].status in ("done", "failed"))
        assert down.dispatcher.wait(20)
    [job] = _jobs(engine)
    assert job.status == "done" and store.get_run(job.result["run_id"]).sealed
    [delivery] = _deliveries(engine)
    assert delivery.status == "failed" and delivery.run_id == job.result["run_id"]
    assert delivery.error is not None and delivery.error.startswith("cannot connect")

    class Failing:
        def __call__(self, scope: CollectRequest, requested_by: str, *, trigger: str) -> int:
            run = store.start_run(trigger=trigger, requested_by=requested_by, scope={})
            store.finish_run(run.id, status=RunStatus.FAILED, error="no usable credentials")
            raise CollectionFailed("no usable credentials (run stored as failed)", run_id=run.id)

    with receiver() as hook:
        notifier = _notifier(monkeypatch, store, hook.url)
        with TestClient(make_app(executors=Executors(collect=Failing(), notify=notifier))) as client:
            assert client.post("/v1/runs", json={}, headers=auth(officer)).status_code == 202
            [request] = hook.wait_for(1)
            assert notifier.dispatcher.wait(20)
    failed = verify(request.body, request.headers, SECRET.encode())
    assert failed["run"]["status"] == "failed" and failed["run"]["error"] == "no usable credentials"
    assert failed["error"] == "no usable credentials (run stored as failed)"
    assert "FAILED: no usable credentials" in failed["text"]
    assert _jobs(engine)[-1].status == "failed"  # the job fails as it always did
