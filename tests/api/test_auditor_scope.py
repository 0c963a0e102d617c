"""An auditor reads exactly what its packet rests on: the packet's runs, within the packet's accounts.

The scenario of issue 11: one run over three accounts, a packet scoped to one of them, granted to an auditor.
Everything of the other two accounts, and every other run, must not exist for that auditor (404, or absent from
lists), while an officer still sees all of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.models import Role
from api.principal import PacketScope, Principal
from api.services import evidence as evidence_service
from api.services import runs as run_service
from api.services.cursor import CursorCodec
from auditpack.api_sources import CatalogFrameworks, StoredFindings
from auditpack.settings import load_settings
from auditpack.wiring import load_framework_catalogs
from evidence.db import session_factory
from evidence.store import EvidenceStore
from tests.api.conftest import auth, request_ready_packet
from tests.api.executors import SigningBuilder

SCOPED = "384549093131"
OTHERS = ("111122223333", "444455556666")
ACCOUNTS = (SCOPED, *OTHERS)


@dataclass
class Estate:
    packet_run: int
    other_run: int
    iam_user: dict[str, str]  # account -> sha256 of its IAM user's evidence in the packet's run
    other_run_only: str  # sha256 of evidence that exists only in the other run (of the scoped account)


def _record_run(store: EvidenceStore, *, tag: str) -> tuple[int, dict[str, str]]:
    """One run over three accounts: an IAM user and a bucket in each, and a gap in each."""
    run = store.start_run(
        trigger="cli",
        requested_by="alice@example.com (private note)",
        scope={"accounts": list(ACCOUNTS), "regions": ["us-east-1"], "role_name": "AuditpackReadOnly"},
    )
    users = {}
    with store.recorder(run.id) as recorder:
        for account in ACCOUNTS:
            users[account] = recorder.add(
                account_id=account,
                region="us-east-1",
                service="iam",
                resource_type="user",
                resource_id=f"arn:aws:iam::{account}:user/admin-{tag}",
                kind="iam.user",
                payload={"UserName": f"admin-{tag}", "Arn": f"arn:aws:iam::{account}:user/admin-{tag}"},
            )
            recorder.add(
                account_id=account,
                region="us-east-1",
                service="s3",
                resource_type="bucket",
                resource_id=f"arn:aws:s3:::records-{account}-{tag}",
                kind="s3.bucket_encryption",
                payload={"bucket": f"records-{account}-{tag}", "encrypted": True},
            )
            recorder.add_gap(
                account_id=account,
                region="eu-west-1",
                service="ec2",
                operation="DescribeInstances",
                error_code="AccessDenied",
                message=f"arn:aws:iam::{account}:role/AuditpackReadOnly is not authorized",
            )
    store.finish_run(run.id)
    return run.id, users


@pytest.fixture
def estate(store: EvidenceStore) -> Estate:
    packet_run, users = _record_run(store, tag="q3")
    other_run, other_users = _record_run(store, tag="q4")
    return Estate(packet_run=packet_run, other_run=other_run, iam_user=users, other_run_only=other_users[SCOPED])


@pytest.fixture
def scoped_client(make_app, store: EvidenceStore):  # type: ignore[no-untyped-def]
    settings = load_settings()
    app = make_app(
        findings_source=StoredFindings(store),
        frameworks_source=CatalogFrameworks(settings, store, load_framework_catalogs(settings)),
    )
    with TestClient(app) as client:
        yield client


def _grant_scoped_packet(client: TestClient, officer: str, builder: SigningBuilder, run_id: int) -> tuple[dict, str]:
    builder.run_ids = (run_id,)
    packet = request_ready_packet(client, officer, as_of="2026-01-01", scope={"accounts": [SCOPED]})
    issued = client.post(
        f"/v1/packets/{packet['id']}/grants", json={"expires_in_days": 7, "note": "Acme LLP"}, headers=auth(officer)
    )
    assert issued.status_code == 201, issued.text
    return packet, issued.json()["token"]


def _leaks(text: str) -> list[str]:
    return [account for account in OTHERS if account in text]


def test_an_auditor_of_an_account_scoped_packet_sees_only_that_account(
    scoped_client: TestClient, officer: str, builder: SigningBuilder, estate: Estate
) -> None:
    client = scoped_client
    _packet, token = _grant_scoped_packet(client, officer, builder, estate.packet_run)
    auditor = auth(token)

    listed = client.get("/v1/evidence?limit=1000", headers=auditor)
    assert listed.status_code == 200
    items = listed.json()["items"]
    assert {item["account_id"] for item in items} == {SCOPED}
    assert {item["run_id"] for item in items} == {estate.packet_run}
    assert len(items) == 2 and _leaks(listed.text) == []
    for query in (f"account={OTHERS[0]}", f"run_id={estate.other_run}", "service=iam&region=us-east-1"):
        filtered = client.get(f"/v1/evidence?{query}", headers=auditor).json()["items"]
        assert all(item["account_id"] == SCOPED and item["run_id"] == estate.packet_run for item in filtered), query

    assert client.get(f"/v1/evidence/{estate.iam_user[SCOPED]}", headers=auditor).status_code == 200
    for sha in (estate.iam_user[OTHERS[0]], estate.iam_user[OTHERS[1]], estate.other_run_only):
        refused = client.get(f"/v1/evidence/{sha}", headers=auditor)
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found", sha

    run = client.get(f"/v1/runs/{estate.packet_run}", headers=auditor)
    assert run.status_code == 200
    detail = run.json()
    assert [gap["account_id"] for gap in detail["gaps"]] == [SCOPED]
    assert detail["gap_count"] == 1 and detail["evidence_count"] == 2 and detail["gaps_truncated"] is False
    assert detail["scope"]["accounts"] == [SCOPED]
    assert _leaks(run.text) == [] and 'AuditpackReadOnly"' not in run.text

    runs = client.get("/v1/runs", headers=auditor)
    assert [r["id"] for r in runs.json()["items"]] == [estate.packet_run]
    assert runs.json()["items"][0]["evidence_count"] == 2 and _leaks(runs.text) == []

    for path in (
        f"/v1/runs/{estate.other_run}",
        "/v1/findings",
        f"/v1/findings?run_id={estate.packet_run}",
        "/v1/frameworks/hipaa/status",
        f"/v1/frameworks/hipaa/status?account={SCOPED}",
        "/v1/jobs",
    ):
        refused = client.get(path, headers=auditor)
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found", path

    # An officer still sees every account, gap and run.
    everything = client.get("/v1/evidence?limit=1000", headers=auth(officer)).json()["items"]
    assert {item["account_id"] for item in everything} == set(ACCOUNTS)
    full = client.get(f"/v1/runs/{estate.packet_run}", headers=auth(officer)).json()
    assert full["gap_count"] == 3 and full["evidence_count"] == 6 and len(full["gaps"]) == 3
    assert client.get(f"/v1/evidence/{estate.iam_user[OTHERS[0]]}", headers=auth(officer)).status_code == 200


def test_an_unscoped_packet_shows_every_account_of_its_runs_only(
    scoped_client: TestClient, officer: str, builder: SigningBuilder, estate: Estate
) -> None:
    client = scoped_client
    builder.run_ids = (estate.packet_run,)
    packet = request_ready_packet(client, officer, as_of="2026-01-01")
    token = client.post(f"/v1/packets/{packet['id']}/grants", json={"expires_in_days": 7}, headers=auth(officer))
    auditor = auth(token.json()["token"])
    items = client.get("/v1/evidence?limit=1000", headers=auditor).json()["items"]
    assert {item["account_id"] for item in items} == set(ACCOUNTS)
    assert {item["run_id"] for item in items} == {estate.packet_run}
    assert client.get(f"/v1/runs/{estate.packet_run}", headers=auditor).json()["gap_count"] == 3
    assert client.get(f"/v1/evidence/{estate.other_run_only}", headers=auditor).status_code == 404


def test_two_grants_do_not_widen_each_other(engine: Engine, estate: Estate) -> None:
    """Packet A (packet run, scoped account) and packet B (other run, another account): the auditor holding both
    sees A's account in A's run and B's account in B's run, never a mix."""
    principal = Principal(
        token_id=1,
        role=Role.AUDITOR,
        scopes=(
            PacketScope(packet_id="a", run_ids=frozenset({estate.packet_run}), accounts=frozenset({SCOPED})),
            PacketScope(packet_id="b", run_ids=frozenset({estate.other_run}), accounts=frozenset({OTHERS[0]})),
        ),
    )
    with session_factory(engine)() as session:
        rows, _ = evidence_service.page_evidence(
            session,
            filters=evidence_service.EvidenceFilter(),
            principal=principal,
            limit=100,
            cursor=None,
            codec=CursorCodec.from_secret(b"s" * 32),
        )
        seen = {(row.run_id, row.account_id) for row in rows}
        assert seen == {(estate.packet_run, SCOPED), (estate.other_run, OTHERS[0])}
        with pytest.raises(Exception, match="no evidence payload"):
            evidence_service.payload_bytes(session, sha256=estate.iam_user[OTHERS[0]], principal=principal)
        view = run_service.run_view(session, run_id=estate.other_run, principal=principal, gap_limit=10)
        assert [gap.account_id for gap in view.gaps] == [OTHERS[0]] and view.evidence_count == 2


def test_auditors_see_no_requesters_or_job_ids(
    scoped_client: TestClient, officer: str, builder: SigningBuilder, estate: Estate
) -> None:
    client = scoped_client
    packet, token = _grant_scoped_packet(client, officer, builder, estate.packet_run)
    auditor = auth(token)
    for path in (f"/v1/packets/{packet['id']}", f"/v1/runs/{estate.packet_run}"):
        seen = client.get(path, headers=auditor).json()
        assert seen["requested_by"] is None, path
        assert seen.get("job_id") is None, path
    for path in ("/v1/packets", "/v1/runs"):
        page = client.get(path, headers=auditor)
        assert all(item["requested_by"] is None for item in page.json()["items"]), path
        assert "officer token" not in page.text and "alice@example.com" not in page.text, path
    # Officers still see who asked, and the job behind a packet.
    mine = client.get(f"/v1/packets/{packet['id']}", headers=auth(officer)).json()
    assert mine["requested_by"].startswith("officer token") and mine["job_id"] is not None
    run = client.get(f"/v1/runs/{estate.packet_run}", headers=auth(officer)).json()
    assert run["requested_by"] == "alice@example.com (private note)"


def test_a_run_lists_its_first_gaps_and_says_when_there_are_more(engine: Engine, estate: Estate) -> None:
    officer = Principal(token_id=1, role=Role.OFFICER)
    auditor = Principal(
        token_id=2,
        role=Role.AUDITOR,
        scopes=(PacketScope(packet_id="a", run_ids=frozenset({estate.packet_run}), accounts=frozenset({SCOPED})),),
    )
    with session_factory(engine)() as session:
        full = run_service.run_view(session, run_id=estate.packet_run, principal=officer, gap_limit=2)
        assert len(full.gaps) == 2 and full.gaps_truncated and full.gap_count == 3
        mine = run_service.run_view(session, run_id=estate.packet_run, principal=auditor, gap_limit=1)
        assert [gap.account_id for gap in mine.gaps] == [SCOPED] and not mine.gaps_truncated
