"""`auditpack evidence` and `auditpack exception` end to end through the CLI, on both backends."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

PDF = b"%PDF-1.7\nAccess control policy v1\n"
CONTROLS = ("--control", "soc2:CC6.1", "--control", "hipaa:164.308(a)(1)(ii)(A)")


def _day(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


@pytest.fixture
def cli(cli_env: dict[str, str], run_cli, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AUDITPACK_ACTOR", "alice")
    return run_cli


def _json(result) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert result.code == 0, result
    return json.loads(result.stdout)


def test_submit_review_and_show_a_document(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    doc = tmp_path / "access-control.pdf"
    doc.write_bytes(PDF)
    added = _json(
        cli("evidence", "add", str(doc), *CONTROLS, "--title", "Access policy", "--owner", "CISO", "--format", "json")
    )
    assert (added["state"], added["media_type"], added["submitted_by"]) == ("submitted", "application/pdf", "alice")
    own = cli("evidence", "approve", str(added["id"]))
    assert own.code == 2 and "alice cannot approve item 1: it is their own" in own.stderr
    approved = cli("evidence", "approve", str(added["id"]), "--as", "bob")
    assert approved.code == 0 and "item 1 approved" in approved.stdout and "is approved" in approved.stdout
    shown = _json(cli("evidence", "show", "1", "--format", "json"))
    assert [(e["state"], e["actor"]) for e in shown["events"]] == [("submitted", "alice"), ("approved", "bob")]
    text = cli("evidence", "show", "1")
    assert "approved   by bob" in text.stdout and "access-control.pdf" in text.stdout


def test_unknown_controls_and_types_are_refused_with_exit_2(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    doc = tmp_path / "a.pdf"
    doc.write_bytes(PDF)
    typo = cli("evidence", "add", str(doc), "--control", "soc2:cc6.1", "--title", "t", "--owner", "o")
    assert typo.code == 2 and "unknown control 'soc2:cc6.1'; nearest: soc2:CC6.1," in typo.stderr
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00")
    refused = cli("evidence", "add", str(exe), *CONTROLS, "--title", "t", "--owner", "o")
    assert refused.code == 2 and "unsupported content" in refused.stderr


def test_attestations_records_and_listing_expiring_items(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    attested = _json(
        cli(
            "evidence",
            "attest",
            "--control",
            "hipaa:164.308(a)(5)(i)",
            "--statement",
            "Every workforce member completed security awareness training in 2025.",
            "--by",
            "Dana Smith, Privacy Officer",
            "--valid-until",
            _day(20),
            "--format",
            "json",
        )
    )
    assert attested["statement_by"] == "Dana Smith, Privacy Officer" and attested["owner"] == "Dana Smith"
    export = tmp_path / "reviews.csv"
    export.write_bytes(b"user,reviewed\nlee,yes\nkim,yes\n")
    recorded = _json(
        cli(
            "evidence",
            "record",
            "--url",
            "https://jira.example.com/browse/SEC-12",
            "--file",
            str(export),
            "--control",
            "soc2:CC6.2",
            "--title",
            "Q4 access review",
            "--owner",
            "IT",
            "--format",
            "json",
        )
    )
    assert (recorded["media_type"], recorded["valid_until"][:10]) == ("text/csv", _day(90))  # the record default
    for item_id in (attested["id"], recorded["id"]):
        assert cli("evidence", "approve", str(item_id), "--as", "bob").code == 0
    expiring = _json(cli("evidence", "list", "--expiring-within", "30d", "--format", "json"))
    assert [item["id"] for item in expiring["items"]] == [attested["id"]]
    by_control = cli("evidence", "list", "--control", "soc2:CC6.2")
    assert "Q4 access review" in by_control.stdout and "Attestation by Dana Smith" not in by_control.stdout
    bad = cli("evidence", "list", "--expiring-within", "a month")
    assert bad.code == 2 and "expected a duration such as 30d" in bad.stderr


def test_import_is_idempotent_and_a_changed_file_supersedes(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "evidence-repo"
    (folder / "policies").mkdir(parents=True)
    (folder / "policies" / "access.pdf").write_bytes(PDF)
    (folder / "training.md").write_text("# Training log\n\n- 2025-11-01 all staff\n")
    (folder / "evidence.yaml").write_text(
        "items:\n"
        "  - file: policies/access.pdf\n    title: Access control policy\n    controls: [soc2:CC6.1]\n    owner: CISO\n"
        "  - file: training.md\n    title: Training log\n    controls: ['hipaa:164.308(a)(5)(i)']\n    owner: HR\n"
    )
    first = _json(cli("evidence", "import", str(folder), "--format", "json"))
    assert [a["path"] for a in first["added"]] == ["policies/access.pdf", "training.md"]
    again = _json(cli("evidence", "import", str(folder), "--format", "json"))
    assert again["added"] == [] and again["superseded"] == [] and len(again["unchanged"]) == 2
    assert cli("evidence", "approve", "1", "--as", "bob").code == 0
    (folder / "policies" / "access.pdf").write_bytes(PDF + b"v2: MFA for all administrators\n")
    changed = cli("evidence", "import", str(folder))
    assert (
        changed.code == 0
        and "item 3 replaces item 1" in changed.stdout
        and "1 superseded, 1 unchanged" in changed.stdout
    )
    assert cli("evidence", "approve", "3", "--as", "bob").code == 0
    old = _json(cli("evidence", "show", "1", "--format", "json"))
    assert (old["state"], old["superseded_by"], old["events"][-1]["reason"]) == ("retracted", 3, "superseded by item 3")
    assert _json(cli("verify", "--store", "--format", "json"))["intact"] is True


def test_import_checks_every_entry_before_adding_any(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.pdf").write_bytes(PDF)
    (tmp_path / "evidence.yaml").write_text(
        "items:\n"
        "  - {file: a.pdf, title: A, controls: [soc2:CC6.1], owner: O}\n"
        "  - {file: ../outside.pdf, title: B, controls: [soc2:CC6.1], owner: O}\n"
    )
    result = cli("evidence", "import", str(tmp_path))
    assert result.code == 2 and "item 2: file '../outside.pdf' is outside the folder" in result.stderr
    assert "no customer evidence matches" in cli("evidence", "list").stdout


def test_exceptions_need_a_justification_an_expiry_in_range_and_another_approver(cli) -> None:  # type: ignore[no-untyped-def]
    base = ("exception", "request", "--check", "s3.default_encryption", "--resource", "arn:aws:s3:::legacy")
    why = ("--compensating", "Private bucket behind a VPC endpoint, access logged.")
    short = cli(*base, "--justification", "legacy", *why, "--expires", _day(30))
    assert short.code == 2 and "at least 30 are required" in short.stderr
    far = cli(
        *base,
        "--justification",
        "Vendor appliance cannot encrypt until its Q3 replacement.",
        *why,
        "--expires",
        _day(400),
    )
    assert far.code == 2 and "more than 365 days away" in far.stderr
    requested = _json(
        cli(
            *base,
            "--justification",
            "Vendor appliance cannot encrypt until its Q3 replacement.",
            *why,
            "--expires",
            _day(60),
            "--format",
            "json",
        )
    )
    assert requested["state"] == "requested" and requested["resource_ids"] == ["arn:aws:s3:::legacy"]
    own = cli("exception", "approve", str(requested["id"]))
    assert own.code == 2 and "alice cannot approve exception 1" in own.stderr
    assert cli("exception", "approve", "1", "--as", "bob").code == 0
    listed = _json(cli("exception", "list", "--state", "approved", "--format", "json"))
    assert [e["id"] for e in listed["exceptions"]] == [1]
    revoked = cli("exception", "revoke", "1", "--reason", "bucket encrypted now", "--as", "bob")
    assert revoked.code == 0 and "revoked" in revoked.stdout
    assert _json(cli("exception", "show", "1", "--format", "json"))["state"] == "revoked"


def test_verify_store_reports_the_ledger_head_and_checks_a_recorded_one(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    doc = tmp_path / "a.pdf"
    doc.write_bytes(PDF)
    assert cli("evidence", "add", str(doc), *CONTROLS, "--title", "t", "--owner", "o").code == 0
    result = cli("verify", "--store")
    assert result.code == 0 and "customer ledger head: entry #2" in result.stdout
    assert "1 items, 0 exceptions, 1 review events, 1 contents" in result.stdout
    head = _json(cli("verify", "--store", "--format", "json"))["ledger_head_digest"]
    assert cli("verify", "--store", "--expected-ledger-head", head).code == 0
    unknown = cli("verify", "--store", "--expected-ledger-head", "0" * 64)
    assert unknown.code == 1 and "customer ledger: the recorded head" in unknown.stderr
