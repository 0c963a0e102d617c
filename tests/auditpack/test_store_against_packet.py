"""The chain head a packet saw is recorded in its manifest, and `verify --store` can be held to it (issue 11,
defect 8): deleting the newest run leaves a consistent, shorter chain that only a recorded head exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import delete, update

from auditpack.settings import load_settings
from auditpack.wiring import open_store
from evidence.findings import finding_set
from evidence.findings_model import FindingRow, FindingSet
from evidence.models import Evidence, Gap, Run
from evidence.store import EvidenceStore
from tests.evidence.helpers import record_run
from tests.scenario import Collected


@pytest.fixture
def packet_env(collected: Collected, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    database = collected.copy_to(tmp_path / "estate.db")
    monkeypatch.setenv("AUDITPACK_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("AUDITPACK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def store(packet_env: Path) -> EvidenceStore:
    return open_store(load_settings())


def _manifest(pdf: Path) -> dict:
    return json.loads(PdfReader(pdf).attachments["manifest.json"][0])


def _delete_run(store: EvidenceStore, run_id: int) -> None:
    """What an attacker does to make a run vanish: its rows, then the run (blobs may stay, shared or not)."""
    with store.sessions.begin() as session:
        for model in (FindingRow, FindingSet, Evidence, Gap):
            session.execute(delete(model).where(model.run_id == run_id))
        session.execute(delete(Run).where(Run.id == run_id))


def _packet(run_cli, name: str) -> Path:  # type: ignore[no-untyped-def]
    result = run_cli("packet", "--framework", "soc2", "--out", name, "--format", "json")
    assert result.code == 0, result
    return Path(json.loads(result.stdout)["pdf"])


def test_verify_store_prints_the_head_to_record(packet_env: Path, collected: Collected, run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("verify", "--store")
    assert result.code == 0, result
    assert f"chain head: run #{collected.run.chain_seq} in the chain, digest {collected.run.digest}" in result.stdout
    assert f"auditpack verify --store --expected-head {collected.run.digest}" in result.stdout
    assert run_cli("verify", "--store", "--expected-head", collected.run.digest).code == 0


def test_deleting_the_newest_run_is_caught_by_a_recorded_head(
    packet_env: Path, store: EvidenceStore, collected: Collected, run_cli
) -> None:  # type: ignore[no-untyped-def]
    newest = record_run(store, [{"n": 1}])
    assert newest.previous_digest == collected.run.digest
    _delete_run(store, newest.id)

    alone = run_cli("verify", "--store")
    assert alone.code == 0, alone  # the shorter chain is consistent in itself: why the head must be recorded

    held = run_cli("verify", "--store", "--expected-head", newest.digest)
    assert held.code == 1, held
    assert f"the recorded chain head {newest.digest} is not in the chain (head is now {collected.run.digest})" in (
        held.stderr
    )
    # A head recorded earlier is still in the chain: later runs may have been sealed since, none deleted.
    assert run_cli("verify", "--store", "--expected-head", collected.run.digest).code == 0


def test_a_packet_records_the_store_it_saw_and_verify_holds_the_store_to_it(
    packet_env: Path, store: EvidenceStore, collected: Collected, run_cli
) -> None:  # type: ignore[no-untyped-def]
    pdf = _packet(run_cli, "before.pdf")
    state = _manifest(pdf)["store"]
    recorded = finding_set(store, collected.run.id)
    assert recorded is not None
    assert state == {  # each digest with the canonical version it was computed in (RFC 8785 for new ones)
        "chain_head": {"seq": collected.run.chain_seq, "digest": collected.run.digest, "canonical_version": 2},
        "findings": {str(collected.run.id): recorded.digest},
        "findings_canonical_versions": {str(collected.run.id): 2},
        "customer_ledger_head": None,  # no customer evidence yet
    }
    same = run_cli("verify", "--store", "--against", str(pdf))
    assert same.code == 0, same

    # The packet rests on the newest run; deleting it is caught against the packet.
    newest = record_run(store, [{"n": 1}])
    on_newest = _packet(run_cli, "newest.pdf")
    _delete_run(store, newest.id)
    result = run_cli("verify", "--store", "--against", str(on_newest))
    assert result.code == 1, result
    assert f"run {newest.id}, which" in result.stderr and "is no longer a sealed run in the store" in result.stderr
    assert f"chain head {_manifest(on_newest)['packet_id']} saw" in result.stderr


def test_findings_changed_since_the_packet_are_caught_against_it(
    packet_env: Path, store: EvidenceStore, collected: Collected, run_cli
) -> None:  # type: ignore[no-untyped-def]
    pdf = _packet(run_cli, "packet.pdf")
    with store.sessions.begin() as session:
        session.execute(update(FindingSet).where(FindingSet.run_id == collected.run.id).values(digest="f" * 64))
    result = run_cli("verify", "--store", "--against", str(pdf))
    assert result.code == 1, result
    assert f"the findings of run {collected.run.id} are not those" in result.stderr


def test_a_tampered_packet_is_not_evidence_of_anything(packet_env: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    pdf = _packet(run_cli, "packet.pdf")
    data = bytearray(pdf.read_bytes())
    data[len(data) // 2] ^= 0x01
    pdf.write_bytes(bytes(data))
    result = run_cli("verify", "--store", "--against", str(pdf))
    assert result.code == 1 and "verification FAILED" in result.stderr, result


def test_altered_findings_refuse_the_packet(
    packet_env: Path, store: EvidenceStore, collected: Collected, run_cli
) -> None:  # type: ignore[no-untyped-def]
    with store.sessions.begin() as session:
        session.execute(
            update(FindingRow)
            .where(FindingRow.run_id == collected.run.id, FindingRow.status == "fail")
            .values(status="pass")
        )
    result = run_cli("packet", "--framework", "hipaa", "--out", "false.pdf")
    assert result.code == 1, result
    assert f"the stored findings of run {collected.run.id} do not match their evaluation" in result.stderr
    assert not (packet_env / "false.pdf").exists()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--store", "--expected-head", "abc"], "expected a 64-character hex SHA-256 digest"),
        (
            ["x.pdf", "--expected-head", "a" * 64],
            "--expected-head, --expected-ledger-head and --against go with --store",
        ),
        (["--store", "--against", "missing.pdf"], "missing.pdf"),
    ],
)
def test_bad_usage_exits_2(packet_env: Path, run_cli, args: list[str], says: str) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("verify", *args)
    message = " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.stderr).split())  # Rich boxes and wraps usage errors
    assert result.code == 2 and says in message, result
