"""`auditpack packet` over the collected scenario Organization: evaluate stored evidence, sign, write, verify."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.auditpack.cli_probe import HEAVY, VERIFICATION, loaded_by
from tests.scenario import Collected


@pytest.fixture
def packet_env(collected: Collected, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the collected store (packets must not depend on test order) and an empty data dir."""
    database = collected.copy_to(tmp_path / "estate.db")
    monkeypatch.setenv("AUDITPACK_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("AUDITPACK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AUDITPACK_ORG_NAME", "Scenario Health")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_packet_scoped_to_one_account_verifies_and_holds_only_that_account(
    packet_env: Path, collected: Collected, run_cli
) -> None:  # type: ignore[no-untyped-def]
    account = collected.estate.member_a
    result = run_cli(
        "packet", "--framework", "hipaa", "--account", account, "--bundle", "hipaa.zip", "--format", "json"
    )
    assert result.code == 0, result
    summary = json.loads(result.stdout)
    assert summary["runs"] == [collected.run.id] and summary["framework"] == "hipaa"
    assert "self-signed local CA" in result.stderr  # the demo/first-use signer is never silent
    pdf = Path(summary["pdf"])
    assert pdf.name == f"auditpack-hipaa-{datetime.now(UTC).date().isoformat()}.pdf"

    reader = PdfReader(pdf)
    manifest = json.loads(reader.attachments["manifest.json"][0])
    assert manifest["packet_id"] == summary["packet_id"] and manifest["organisation"] == "Scenario Health"
    # The executive summary counts requirements (headings group them) and its figures add up.
    requirements = sum(summary["controls_by_status"].values())
    headings = sum(1 for control in manifest["controls"]) - requirements
    summary_page = " ".join(reader.pages[1].extract_text().split())
    assert headings > 0
    assert f"Of the {requirements} HIPAA Security Rule requirements (grouped under {headings} headings)" in summary_page
    assert manifest["scope"]["accounts"] == [account]
    assert {entry["account_id"] for entry in manifest["evidence"]} == {account}
    assert all(gap["account_id"] == account for gap in manifest["gaps"])

    verified = run_cli("verify", str(pdf))
    assert verified.code == 0, verified
    assert run_cli("verify", "hipaa.zip").code == 0
    # Started afresh, `verify FILE` loads signature validation and nothing else heavy (no store, settings, AWS),
    # and says nothing on stderr (pyHanko's import once printed cryptography's DSA deprecation warning there).
    for fresh in loaded_by([["verify", str(pdf)], ["verify", "hipaa.zip"]]):
        assert fresh.code == 0, fresh.error
        assert fresh.of(*HEAVY) == sorted(VERIFICATION)
        assert fresh.stderr == ""

    again = run_cli("packet", "--framework", "hipaa", "--account", account)
    assert again.code == 2 and "already exists" in again.stderr  # a packet is never overwritten by accident


def test_a_period_packet_lists_every_run_sealed_in_the_period(packet_env: Path, collected: Collected, run_cli) -> None:  # type: ignore[no-untyped-def]
    day = collected.run.finished_at.date().isoformat()
    result = run_cli("packet", "--framework", "soc2", "--from", day, "--to", day, "--out", "q.pdf", "--format", "json")
    assert result.code == 0, result
    manifest = json.loads(PdfReader("q.pdf").attachments["manifest.json"][0])
    assert manifest["period"]["from"].startswith(day) and manifest["period"]["to"].startswith(day)
    assert [run["id"] for run in manifest["period_runs"]] == [collected.run.id]
    assert manifest["period_runs"][0]["digest"] == collected.run.digest


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--framework", "nist"), "unknown framework 'nist'"),
        (("--framework", "hipaa", "--as-of", "2026-02-30"), "--as-of: '2026-02-30' is not a date"),
        (("--framework", "hipaa", "--from", "2026-01-01"), "--from and --to go together"),
        (("--framework", "hipaa", "--from", "2026-03-01", "--to", "2026-01-01"), "after it ends"),
        (("--framework", "hipaa", "--as-of", "2001-01-01"), "no complete or partial evidence run for 2001-01-01"),
    ],
)
def test_bad_requests_exit_2_and_write_nothing(packet_env: Path, run_cli, args: tuple[str, ...], message: str) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("packet", *args)
    assert result.code == 2, result
    assert message in result.stderr
    assert not list(packet_env.glob("*.pdf"))
