"""Control status on two axes end to end, through the real store on both backends: the scenario Organization's
evidence, customer evidence items submitted and approved, and exceptions requested and approved with
`evidence.customer.service`, read back by `auditpack status` and `wiring.framework_status`."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from auditpack import wiring
from auditpack.settings import Settings, load_settings
from evidence.customer import service
from evidence.customer.policy import Actor, Role
from evidence.store import EvidenceStore
from frameworks.results import AutomatedResult, ControlResult, EvidenceState, OverallStatus
from tests.evidence.helpers import replay_run
from tests.scenario import Collected

ALICE = Actor("alice@example.com", Role.OFFICER)
BOB = Actor("bob@example.com", Role.OFFICER)
MANAGEMENT = "123456789012"  # the scenario's management account: its security contact is registered
# HIPAA 164.308(a)(2), assigned security responsibility: partial; its check (a security contact registered)
# passes in the management account, the rest is a document naming the security official.
SECURITY_OFFICIAL = "164.308(a)(2)"
SECRETS = "lambda.no_secrets_in_environment"


@pytest.fixture
def estate(collected: Collected, store: EvidenceStore, cli_env: dict[str, str]) -> Settings:
    replay_run(collected.store, collected.run.id, store)
    return load_settings()


def _control(settings: Settings, store: EvidenceStore, framework: str, control_id: str) -> ControlResult:
    catalog = wiring.load_framework_catalogs(settings).get(framework)
    status = wiring.framework_status(settings, store, catalog, as_of=datetime.now(UTC), accounts=[MANAGEMENT])
    return next(c for c in status.controls if c.control_id == control_id)


def test_a_partial_control_is_met_once_its_evidence_is_approved(estate: Settings, store: EvidenceStore) -> None:
    before = _control(estate, store, "hipaa", SECURITY_OFFICIAL)
    assert (before.status, before.automated, before.evidence) == (
        OverallStatus.EVIDENCE_NEEDED,
        AutomatedResult.PASS,
        EvidenceState.NEEDED,
    )
    policy = wiring.customer_policy(estate)
    letter = service.submit_document(
        store.engine,
        policy=policy,
        actor=ALICE,
        stream=io.BytesIO(b"%PDF-1.7\n" + b"Appointment of the security official. " * 20),
        title="Security official appointment",
        controls=[f"hipaa:{SECURITY_OFFICIAL}"],
        owner="CEO",
        filename="appointment.pdf",
    )
    waiting = _control(estate, store, "hipaa", SECURITY_OFFICIAL)
    assert (waiting.status, waiting.evidence, waiting.evidence_submitted) == (
        OverallStatus.EVIDENCE_NEEDED,
        EvidenceState.SUBMITTED,
        (letter.id,),
    )
    service.approve(store.engine, item_id=letter.id, actor=BOB)
    met = _control(estate, store, "hipaa", SECURITY_OFFICIAL)
    assert (met.status, met.automated, met.evidence, met.evidence_items) == (
        OverallStatus.MET,
        AutomatedResult.PASS,
        EvidenceState.APPROVED,
        (letter.id,),
    )
    # evidence approved now says nothing about an earlier day
    catalog = wiring.load_framework_catalogs(estate).get("hipaa")
    earlier = wiring.framework_status(
        estate, store, catalog, as_of=datetime.now(UTC) - timedelta(minutes=1), accounts=[MANAGEMENT]
    )
    assert next(c for c in earlier.controls if c.control_id == SECURITY_OFFICIAL).evidence is EvidenceState.NEEDED


def test_status_json_shows_exceptions_items_and_what_expires(  # type: ignore[no-untyped-def]
    estate: Settings, store: EvidenceStore, collected: Collected, run_cli
) -> None:
    # PCI DSS 8.6.2 (no passwords hard coded in scripts) fails in the scenario on one Lambda function whose
    # environment holds a secret; the risk is accepted for that function for 20 days.
    (function,) = [f for f in collected.findings(SECRETS) if f.status == "fail"]
    exception = service.request_exception(
        store.engine,
        policy=wiring.customer_policy(estate),
        actor=ALICE,
        check_id=SECRETS,
        resource_ids=[function.resource_id],
        justification="The vendor's exporter reads its API key from the environment until release 4.2.",
        compensating="The key is scoped to one read-only endpoint and rotated weekly by the vault.",
        expires_at=datetime.now(UTC) + timedelta(days=20),
    )
    service.approve_exception(store.engine, exception_id=exception.id, actor=BOB)
    review = service.submit_attestation(
        store.engine,
        policy=wiring.customer_policy(estate),
        actor=ALICE,
        statement="Application accounts are used only by the applications they belong to; no human logs in.",
        statement_by="Dana Smith, CISO",
        title="Use of application accounts",
        controls=["pci-dss:8.6.2"],
        owner="CISO",
    )
    service.approve(store.engine, item_id=review.id, actor=BOB)
    result = run_cli("status", "--framework", "pci-dss", "--format", "json")
    assert result.code == 0, result
    data = json.loads(result.stdout)
    control = next(c for c in data["controls"] if c["id"] == "8.6.2")
    assert (control["status"], control["automated"], control["exceptions"]) == ("excepted", "excepted", [exception.id])
    assert control["customer_evidence"] == {"state": "approved", "items": [review.id], "submitted": [], "expired": []}
    assert (control["failed"], control["excepted"]) == (0, 1)
    (excepted,) = control["checks"][0]["excepted"]
    assert excepted["resource_id"] == function.resource_id and excepted["exception_id"] == exception.id
    assert f"excepted by exception {exception.id}" in excepted["reason"]
    assert data["summary"]["by_status"]["excepted"] >= 1
    assert [e["id"] for e in data["expiring"]["exceptions"]] == [exception.id]
    assert "8.6.2" in data["expiring"]["exceptions"][0]["controls"]
    table = run_cli("status", "--framework", "pci-dss")
    assert "expiring within 30 days" in table.stdout and f"exception {exception.id}" in table.stdout
