"""A collection's summary (the CLI's and the nightly capture's job result) names the approved customer evidence
and the exceptions that lapse within 30 days, so they are renewed before a control stops being met."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from api.executors import CollectRequest
from api.jobs.handlers import CollectJob
from api.models import Job
from auditpack.wiring import expiring_soon
from evidence.customer import service
from evidence.store import EvidenceStore
from tests.evidence.customer.conftest import ALICE, BOB, POLICY, T0, submit


def _estate(engine: Engine) -> dict[str, int]:
    soon = submit(engine, title="Incident response plan", valid_until=T0 + timedelta(days=20))
    later = submit(engine, b"%PDF-1.7\nlater", title="Risk assessment", valid_until=T0 + timedelta(days=200))
    pending = submit(engine, b"%PDF-1.7\npending", title="Draft", valid_until=T0 + timedelta(days=5))
    for item in (soon, later):
        service.approve(engine, item_id=item.id, actor=BOB, now=T0 + timedelta(hours=1))
    active = service.request_exception(
        engine,
        policy=POLICY,
        actor=ALICE,
        check_id="iam.root_mfa_enabled",
        justification="Break-glass root user is kept in a safe under dual control.",
        compensating="Root login alarms page the on-call engineer.",
        expires_at=T0 + timedelta(days=10),
        now=T0,
    )
    service.approve_exception(engine, exception_id=active.id, actor=BOB, now=T0 + timedelta(hours=1))
    return {"soon": soon.id, "later": later.id, "pending": pending.id, "exception": active.id}


def test_items_and_exceptions_lapsing_within_30_days_are_listed(store: EvidenceStore) -> None:
    ids = _estate(store.engine)
    lapsing = expiring_soon(store, now=T0 + timedelta(days=1))
    assert [(i["id"], i["title"], i["expires_at"]) for i in lapsing["items"]] == [
        (ids["soon"], "Incident response plan", "2026-03-21T09:00:00Z")
    ]  # not the one valid for 200 days, not the unapproved draft
    assert [(e["id"], e["expires_at"]) for e in lapsing["exceptions"]] == [(ids["exception"], "2026-03-11T09:00:00Z")]
    assert "iam.root_mfa_enabled" in lapsing["exceptions"][0]["scope"]
    # Once lapsed they are no longer "expiring": the status shows them as expired instead.
    assert expiring_soon(store, now=T0 + timedelta(days=25)) == {"items": [], "exceptions": []}


def test_the_collect_job_result_carries_the_summary(store: EvidenceStore) -> None:
    _estate(store.engine)
    job = CollectJob(
        lambda scope, requested_by, *, trigger: 41,
        lambda run_id: {"expiring_within_30_days": expiring_soon(store, now=T0 + timedelta(days=1))},
    )
    result = job(Job(id=1, kind="collect", payload={"scope": CollectRequest().to_json(), "requested_by": "cron"}))
    assert result["run_id"] == 41
    assert len(result["expiring_within_30_days"]["items"]) == 1
    assert len(result["expiring_within_30_days"]["exceptions"]) == 1
