"""The API as `auditpack serve` builds it: real findings and frameworks sources over the collected scenario
Organization, the configured schedule scope, and the packet precheck and builder failing with the precise
no-evidence message."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete

from api.executors import Executors, PacketRequest
from api.jobs.worker import describe_failure
from api.models import Role
from auditpack.api_executors import PacketMaker, Verifier, packet_window
from auditpack.api_wiring import build_app
from auditpack.packet_process import can_spawn
from auditpack.settings import load_settings
from auditpack.wiring import framework_status, load_framework_catalogs, open_store
from core.errors import AuditpackError, InputError
from evidence.checks.registry import check_metadata
from evidence.db import make_engine
from evidence.findings import load_findings
from evidence.findings_model import FindingRow, FindingSet
from evidence.store import EvidenceStore
from reports.verify import verify_file
from tests.api.conftest import auth, issue, wait_for
from tests.scenario import Collected


@pytest.fixture
def served(collected: Collected, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """`build_app` over a copy of the collected store, configured through AUDITPACK_* like `serve`."""
    database = collected.copy_to(tmp_path / "estate.db")
    monkeypatch.setenv("AUDITPACK_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("AUDITPACK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AUDITPACK_SCHEDULE", "")
    app = build_app(load_settings())
    with TestClient(app) as client:
        yield client
    app.state.context.engine.dispose()


@pytest.fixture
def officer(served: TestClient) -> dict[str, str]:
    return auth(issue(served.app.state.context.engine, Role.OFFICER)[1])


def _all(client: TestClient, headers: dict[str, str], **params: object) -> list[dict]:
    items, cursor = [], None
    while True:
        page = client.get("/v1/findings", params={**params, **({"cursor": cursor} if cursor else {})}, headers=headers)
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


def test_findings_come_from_the_stored_findings_of_the_latest_run(
    served: TestClient, officer: dict[str, str], collected: Collected
) -> None:
    first = served.get("/v1/findings", params={"limit": 5}, headers=officer).json()
    assert first["run_id"] == collected.run.id and len(first["items"]) == 5

    encryption = _all(served, officer, check="s3.default_encryption", limit=3)
    stored = collected.findings("s3.default_encryption")
    assert [(f["resource_id"], f["status"]) for f in encryption] == [(f.resource_id, f.status.value) for f in stored]
    assert {f["status"] for f in encryption} == {"pass", "fail"}

    account = collected.estate.member_a
    failing = _all(served, officer, status="fail", account=account, region="eu-west-1", limit=7)
    assert failing and all(
        (f["status"], f["account_id"], f["region"]) == ("fail", account, "eu-west-1") for f in failing
    )
    s3_checks = {check_id for check_id, meta in check_metadata().items() if meta.service == "s3"}
    by_service = _all(served, officer, service="s3", limit=1000)
    assert {f["check_id"] for f in by_service} == s3_checks
    observed = max(f["observed_at"] for f in by_service if f["observed_at"])
    assert _all(served, officer, service="s3", observed_from=observed)
    later = (datetime.fromisoformat(observed) + timedelta(seconds=1)).isoformat()
    assert _all(served, officer, service="s3", observed_from=later) == []

    for params, status, says in (
        ({"check": "s3.no_such_check"}, 400, "unknown check 's3.no_such_check'"),
        ({"service": "mainframe"}, 400, "no check reads the service 'mainframe'"),
        ({"run_id": collected.run.id + 100}, 404, f"run {collected.run.id + 100} does not exist"),
    ):
        answer = served.get("/v1/findings", params=params, headers=officer)
        assert answer.status_code == status and says in answer.json()["error"]["message"], answer.text


def test_frameworks_are_the_loaded_catalogs_and_status_is_evaluated_from_stored_evidence(
    served: TestClient, officer: dict[str, str], collected: Collected
) -> None:
    settings = load_settings()
    catalogs = load_framework_catalogs(settings)
    listed = served.get("/v1/frameworks", headers=officer).json()["items"]
    assert [f["id"] for f in listed] == catalogs.ids() == ["hipaa", "pci-dss", "soc2"]
    assert served.app.state.context.config.frameworks == tuple(catalogs.ids())
    controls = served.get("/v1/frameworks/pci-dss/controls", headers=officer).json()["items"]
    assert [c["id"] for c in controls] == [c.id for c in catalogs.get("pci-dss").controls]

    account = collected.estate.member_b
    answer = served.get("/v1/frameworks/hipaa/status", params={"account": account}, headers=officer).json()
    expected = framework_status(
        settings, open_store(settings), catalogs.get("hipaa"), as_of=datetime.now(UTC), accounts=[account]
    )
    assert [r["id"] for r in answer["runs"]] == [collected.run.id] and answer["accounts"] == [account]
    assert answer["by_status"] == expected.by_status
    assert {c["control_id"]: c["status"] for c in answer["controls"]} == {
        c.control_id: c.status.value for c in expected.controls
    }
    before = served.get("/v1/frameworks/hipaa/status", params={"as_of": "2001-01-01T00:00:00Z"}, headers=officer)
    assert before.json()["runs"] == [] and "no complete or partial evidence run" in before.json()["warnings"][0]
    assert served.get("/v1/frameworks/iso27001/status", headers=officer).status_code == 404


def test_a_packet_without_evidence_is_refused_up_front(served: TestClient, officer: dict[str, str]) -> None:
    refused = served.post("/v1/packets", json={"framework": "hipaa", "as_of": "2001-01-01"}, headers=officer)
    assert refused.status_code == 409
    assert refused.json()["error"]["message"].startswith("no complete or partial evidence run for 2001-01-01")
    period = served.post(
        "/v1/packets", json={"framework": "soc2", "period": {"from": "2001-01-01", "to": "2001-03-31"}}, headers=officer
    )
    assert period.status_code == 409 and "the period 2001-01-01 to 2001-03-31" in period.json()["error"]["message"]
    assert served.get("/v1/packets", headers=officer).json()["items"] == []  # nothing queued


@pytest.mark.parametrize("separate_process", [False, True], ids=["in-process", "child-process"])
def test_a_packet_build_without_evidence_fails_with_the_precise_reason(
    collected: Collected, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, separate_process: bool
) -> None:
    """Without the precheck (or when the evidence goes away after it), the build itself refuses: the job and
    the packet both say why, in the same words whether the packet is built on the job's thread or in a child."""
    monkeypatch.setenv("AUDITPACK_DATABASE_URL", f"sqlite:///{collected.copy_to(tmp_path / 'estate.db')}")
    monkeypatch.setenv("AUDITPACK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AUDITPACK_SCHEDULE", "")
    settings = load_settings()
    maker = PacketMaker(settings, open_store(settings), separate_process=separate_process)
    with TestClient(build_app(settings, executors=Executors(build_packet=maker))) as client:
        headers = auth(issue(client.app.state.context.engine, Role.OFFICER)[1])
        queued = client.post("/v1/packets", json={"framework": "hipaa", "as_of": "2001-01-01"}, headers=headers)
        assert queued.status_code == 202
        packet_id = queued.json()["id"]
        packet = wait_for(
            lambda: (p := client.get(f"/v1/packets/{packet_id}", headers=headers).json())["status"] == "failed" and p
        )
        job = client.get(f"/v1/jobs/{packet['job_id']}", headers=headers).json()
    reason = "no complete or partial evidence run for 2001-01-01: there is nothing to put in a packet"
    assert packet["error"].startswith(reason) and job["error"] == packet["error"]
    assert "hint: run `auditpack collect` first" in job["error"]
    assert not (tmp_path / "data" / "packets" / packet_id).exists()  # nothing half-built is left to serve
    assert list((tmp_path / "data" / "packets").iterdir()) == []  # nor any staging directory
    assert multiprocessing.active_children() == []  # the build's child, if any, was reaped


def test_an_api_packet_is_built_in_a_child_process_whose_stages_fork_and_it_verifies(
    served: TestClient, officer: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """`auditpack serve`'s wiring on a SQLite file: the job thread hands the build to a spawned child, whose main
    thread may fork the OSCAL and body stages (as `auditpack packet` does); the packet it wrote verifies."""
    caplog.set_level(logging.INFO, logger="auditpack.packets")
    queued = served.post("/v1/packets", json={"framework": "hipaa"}, headers=officer)
    assert queued.status_code == 202, queued.text
    packet_id = queued.json()["id"]
    packet = wait_for(
        lambda: (
            (p := served.get(f"/v1/packets/{packet_id}", headers=officer).json())["status"] in ("ready", "failed") and p
        ),
        timeout=120,
    )
    assert packet["status"] == "ready", packet
    built = [r for r in caplog.records if r.getMessage().startswith(f"packet {packet_id} built in process ")]
    assert len(built) == 1
    pid, forked = built[0].args[1], built[0].args[2]  # type: ignore[index]
    assert pid != os.getpid() and forked == "yes"
    assert multiprocessing.active_children() == []  # reaped: no zombie left per packet

    settings = load_settings()
    folder = settings.data_dir / "packets" / packet_id
    assert sorted(p.name for p in folder.iterdir()) == ["bundle.zip", "packet.pdf"]  # no temporary files left
    trust = Verifier(settings).trust_roots()
    for name in ("packet.pdf", "bundle.zip"):
        verification = verify_file(folder / name, trust=trust)
        assert verification.ok, verification
    assert verify_file(folder / "packet.pdf", trust=trust).signer_fingerprint == packet["signer"]["fingerprint"]


@pytest.mark.parametrize(
    ("framework", "as_of"),
    [("hipaa", datetime(2001, 1, 1, tzinfo=UTC)), ("iso27001", None)],
    ids=["no-evidence", "unknown-framework"],
)
def test_a_child_build_raises_what_an_in_process_build_raises(
    collected: Collected, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, framework: str, as_of: datetime | None
) -> None:
    """The job's error (`describe_failure`: type, message, hint) is the same from a child as from the job's thread;
    the child's traceback rides along as a note."""
    monkeypatch.setenv("AUDITPACK_DATABASE_URL", f"sqlite:///{collected.copy_to(tmp_path / 'estate.db')}")
    monkeypatch.setenv("AUDITPACK_DATA_DIR", str(tmp_path / "data"))
    settings = load_settings()
    store = open_store(settings)
    raised = []
    for separate_process in (False, True):
        staging = tmp_path / f"staging-{separate_process}"
        staging.mkdir()
        request = _request(staging, f"p-{separate_process}", framework, as_of)
        with pytest.raises(Exception) as caught:
            PacketMaker(settings, store, separate_process=separate_process)(request)
        raised.append(caught.value)
        assert list(staging.iterdir()) == []
    here, child = raised
    assert type(child) is type(here) and describe_failure(child) == describe_failure(here)
    assert isinstance(here, AuditpackError)
    assert not getattr(here, "__notes__", None)
    assert child.__notes__[0].startswith("raised in the packet's build process ")
    assert multiprocessing.active_children() == []


def test_a_store_the_child_cannot_reopen_is_built_in_process(tmp_path: Path) -> None:
    """SQLite in memory lives in one connection, and a store other than the settings' database is not the child's
    to reopen: both stay on the calling thread."""
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", data_dir=tmp_path)
    assert can_spawn(settings, EvidenceStore(make_engine(settings.database_url)))
    assert not can_spawn(settings, EvidenceStore(make_engine(f"sqlite:///{tmp_path / 'b.db'}")))
    memory = load_settings(database_url="sqlite:///:memory:", data_dir=tmp_path)
    assert not can_spawn(memory, EvidenceStore(make_engine(memory.database_url)))


def test_the_api_window_of_a_packet() -> None:
    moment = datetime(2026, 3, 31, 12, tzinfo=UTC)
    assert packet_window(as_of=moment, period_from=None, period_to=None, now=lambda: moment).until == moment
    now = packet_window(as_of=None, period_from=None, period_to=None, now=lambda: moment)
    assert now.until == moment and now.since is None
    period = packet_window(
        as_of=None, period_from=moment.date().replace(day=1), period_to=moment.date(), now=lambda: moment
    )
    assert period.since == datetime(2026, 3, 1, tzinfo=UTC) and period.until.date() == moment.date()
    with pytest.raises(InputError, match="either a moment"):
        packet_window(as_of=moment, period_from=moment.date(), period_to=moment.date(), now=lambda: moment)


def test_the_nightly_capture_collects_the_configured_scope(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITPACK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AUDITPACK_REGIONS", "eu-west-1,us-east-1")
    monkeypatch.setenv("AUDITPACK_ORG", "true")
    monkeypatch.setenv("AUDITPACK_ROLE_NAME", "AuditpackReadOnly")
    config = build_app(load_settings(), executors=Executors()).state.context.config
    scope = config.schedule_scope
    assert (scope.organization, scope.regions, scope.role_name) == (
        True,
        ("eu-west-1", "us-east-1"),
        "AuditpackReadOnly",
    )
    assert config.schedule == "0 2 * * *"  # the default stays on


def test_findings_of_a_run_sealed_without_them_are_evaluated_on_read(
    served: TestClient, officer: dict[str, str], collected: Collected
) -> None:
    """kill -9 after sealing but before the findings were stored: the listing and the status evaluate the run
    instead of answering with no findings."""
    engine = served.app.state.context.engine
    with engine.begin() as connection:
        connection.execute(delete(FindingRow))
        connection.execute(delete(FindingSet))
    listed = _all(served, officer, run_id=collected.run.id, limit=500)
    stored = load_findings(collected.store, collected.run.id)
    assert [(f["check_id"], f["resource_id"], f["status"]) for f in listed] == [
        (f.check_id, f.resource_id, f.status.value) for f in stored
    ]
    status = served.get("/v1/frameworks/hipaa/status", headers=officer)
    assert status.status_code == 200, status.text


def test_a_child_that_dies_fails_the_build_and_is_reaped(
    collected: Collected, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build process killed before it answers (out of memory, an operator) fails the build with its exit code;
    the parent reaps it and nothing is left in the staging directory."""
    monkeypatch.setenv("AUDITPACK_DATABASE_URL", f"sqlite:///{collected.copy_to(tmp_path / 'estate.db')}")
    monkeypatch.setenv("AUDITPACK_DATA_DIR", str(tmp_path / "data"))
    settings = load_settings()
    staging = tmp_path / "staging"
    staging.mkdir()
    request = _request(staging, "killed", "hipaa", None)
    maker = PacketMaker(settings, open_store(settings), separate_process=True)
    failed: list[BaseException] = []

    def build() -> None:
        try:
            maker(request)
        except BaseException as exc:
            failed.append(exc)

    builder = threading.Thread(target=build)  # a job thread, as in `auditpack serve`
    builder.start()
    child = wait_for(lambda: multiprocessing.active_children(), timeout=60, interval=0.01)[0]
    os.kill(child.pid, signal.SIGKILL)  # while it still starts: long before a packet is written
    builder.join(timeout=120)
    assert not builder.is_alive()
    assert [str(exc) for exc in failed] == [
        f"the packet's build process ended without a result (exit code {-signal.SIGKILL})"
    ]
    assert multiprocessing.active_children() == []
    assert list(staging.iterdir()) == []


def _request(staging: Path, packet_id: str, framework: str, as_of: datetime | None) -> PacketRequest:
    """A packet job's request as the API makes one: the PDF and bundle into `staging`."""
    return PacketRequest(
        packet_id=packet_id,
        framework=framework,
        as_of=as_of,
        period_from=None,
        period_to=None,
        accounts=(),
        requested_by="test",
        out_pdf=staging / "packet.pdf",
        out_bundle=staging / "bundle.zip",
    )
