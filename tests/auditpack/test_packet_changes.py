"""A period packet's "Changes in the period", end to end on the collected scenario: a second run in which the web
security group opens SSH (changed by someone CloudTrail names) and the open one closes it, an exception expiring
and another approved in between; the signed PDF says all of it, changes.json (attached, under the signature) lists
it whole (in the bundle too), and the manifest's `changes` key names the two runs compared."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from auditpack.packets import Window, make_packet
from auditpack.settings import load_settings
from auditpack.wiring import customer_policy
from evidence.customer import service
from evidence.customer.policy import Actor, Role
from evidence.db import make_engine
from evidence.models import Run
from evidence.store import EvidenceStore
from reports.verify import verify_file
from tests.scenario import Collected

ALICE = Actor("alice@example.com", Role.OFFICER)
BOB = Actor("bob@example.com", Role.OFFICER)
ACTOR = "arn:aws:sts::123456789012:assumed-role/Admin/mallory"
SSH = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}


def _second_run(store: EvidenceStore, first: Run, web: str, open_group: str) -> tuple[Run, str, str]:
    """Run 1's evidence again, two hours later, with SSH opened on `web` and closed on `open_group`, and the
    CloudTrail lookup of `web`. Returns the run and the two groups' resource ids."""
    assert first.finished_at is not None
    later = EvidenceStore(store.engine, clock=lambda: first.finished_at + timedelta(hours=2))  # type: ignore[operator]
    run = later.start_run(trigger="schedule", requested_by="tests", scope=first.scope)
    ids: dict[str, str] = {}
    place: dict[str, str] = {}
    with later.recorder(run.id) as recorder:
        for item in store.iter_evidence(first.id):
            payload: Any = item.payload
            if item.kind == "ec2.security_group" and payload.get("GroupId") in (web, open_group):
                ids[payload["GroupId"]] = item.resource_id
                place = {"account_id": item.account_id, "region": item.region}
                rules = [] if payload["GroupId"] == open_group else [*payload["IpPermissions"], SSH]
                payload = {**payload, "IpPermissions": rules}
            fields = {k: getattr(item, k) for k in ("account_id", "region", "service", "resource_type", "kind")}
            recorder.add(**fields, resource_id=item.resource_id, payload=payload, owner=item.owner)
        recorder.add(
            **place,
            service="cloudtrail",
            resource_type="security-group",
            resource_id=ids[web],
            kind="cloudtrail.change_events",
            payload={
                "resource_name": web,
                "window_start": "x",
                "window_end": "y",
                "unavailable_before": None,
                "truncated": False,
                "events": [
                    {
                        "event_id": "e-1",
                        "event_name": "AuthorizeSecurityGroupIngress",
                        "event_source": "ec2.amazonaws.com",
                        "event_time": "2026-11-20T14:03:00Z",
                        "actor_arn": ACTOR,
                        "actor_type": "AssumedRole",
                        "source_ip": "203.0.113.9",
                        "user_agent": "aws-cli/2.15",
                        "error_code": None,
                    }
                ],
            },
        )
        for gap in store.gaps(first.id):
            fields = {k: getattr(gap, k) for k in ("account_id", "region", "service", "operation", "error_code")}
            recorder.add_gap(**fields, message=gap.message, kind=gap.kind, resource_id=gap.resource_id)
    return later.finish_run(run.id), ids[web], ids[open_group]


@pytest.fixture
def packet_env(collected: Collected, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    database = collected.copy_to(tmp_path / "estate.db")
    monkeypatch.setenv("AUDITPACK_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("AUDITPACK_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def test_a_period_packet_says_what_changed_who_changed_it_and_signs_it(collected: Collected, packet_env: Path) -> None:
    settings = load_settings()
    engine = make_engine(settings.database_url)
    store = EvidenceStore(engine)
    first = store.get_run(collected.run.id)
    assert first.finished_at is not None
    second, web, open_group = _second_run(store, first, collected.estate.ids["web_sg"], collected.estate.ids["open_sg"])
    policy = customer_policy(settings)
    at = first.finished_at
    before_period = datetime.combine(at.date(), time.min, tzinfo=UTC)
    lapsing = service.request_exception(
        engine,
        policy=policy,
        actor=ALICE,
        check_id="ec2.sg_no_admin_ports_open",
        justification="Bastion replacement in progress; SSH stays open until the SSM rollout ends.",
        compensating="Source restricted by the NACL; sessions recorded.",
        expires_at=at + timedelta(hours=1),
        now=before_period - timedelta(days=1),
    )
    # approved before the period starts (midnight of the first run's day), whatever the time of day the tests run
    # at: a day before the run fell inside the period when the run finished after 23:00 UTC
    service.approve_exception(engine, exception_id=lapsing.id, actor=BOB, now=before_period - timedelta(hours=12))
    approved = service.request_exception(
        engine,
        policy=policy,
        actor=ALICE,
        check_id="iam.root_mfa_enabled",
        justification="Hardware token for the root account is in the post, arriving this week.",
        compensating="Root credentials sealed; CloudTrail alarm on root sign-in.",
        expires_at=at + timedelta(days=30),
        now=at + timedelta(minutes=30),
    )
    service.approve_exception(engine, exception_id=approved.id, actor=BOB, now=at + timedelta(minutes=45))

    assert second.finished_at is not None
    window = Window.of(period=(first.finished_at.date(), second.finished_at.date()))
    out = packet_env / "period.pdf"
    _result, status = make_packet(
        settings,
        store,
        framework="hipaa",
        window=window,
        out_pdf=out,
        out_bundle=packet_env / "period.zip",
        packet_id="P-CH",
        generated_by="t",
    )
    assert status.runs[0].id == second.id

    trust = [packet_env / "data" / "signing" / "local-ca.pem"]
    for built in (out, packet_env / "period.zip"):  # changes.json is in the signed PDF and in the bundle
        verified = verify_file(built, trust=trust)
        assert verified.ok, verified.problems
    reader = PdfReader(out)
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
    assert "Changes in the period" in text
    assert f"From run {first.id}" in text and "the period's first run" in text
    assert "Collected in only one" not in text
    assert (
        "New failures (1)" in text and "Resolved findings (1)" in text and "Exceptions and evidence items (3)" in text
    )
    assert ACTOR in text.replace(" ", "") and "AuthorizeSecurityGroupIngress" in text and "203.0.113.9" in text
    assert f"exception {approved.id} now covers failing findings" in text

    attachments = {name: data[0] for name, data in reader.attachments.items()}
    manifest = json.loads(attachments["manifest.json"])
    changes = json.loads(attachments["changes.json"])
    assert manifest["changes"]["baseline_run"]["id"] == first.id and manifest["changes"]["end_run"]["id"] == second.id
    assert manifest["changes"]["baseline_run"]["digest"] == first.digest
    assert manifest["files"]["changes.json"]["size"] == len(attachments["changes.json"])
    new = {(f["check_id"], f["resource_id"]): f for f in changes["newly_failing"]}
    assert new[("ec2.sg_no_admin_ports_open", web)]["changed_by"] == [ACTOR]
    assert ("ec2.sg_no_admin_ports_open", open_group) in {
        (f["check_id"], f["resource_id"]) for f in changes["resolved"]
    }
    events = [(c["kind"], c["id"], c["event"]) for c in changes["customer_changes"]]
    assert ("exception", lapsing.id, "expired") in events
    assert ("exception", approved.id, "created") in events and ("exception", approved.id, "approved") in events
    # Root MFA fails in both runs; the exception approved in between excepts it, which moves its controls.
    moved = [
        c for c in changes["control_status_changes"] if f"exception {approved.id} now covers" in " ".join(c["causes"])
    ]
    assert moved and all(c["before"] == "not_met" for c in moved), changes["control_status_changes"]
    assert manifest["changes"]["counts"]["control_status_changes"] == len(changes["control_status_changes"])
    engine.dispose()
