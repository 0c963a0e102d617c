"""`auditpack status`: per-control status from stored runs, with the findings and usage providers injected the
way `auditpack.wiring` will supply them once the collectors are merged."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from auditpack import wiring
from evidence.checks.types import Finding, ServiceUsage
from evidence.store import EvidenceStore
from tests.frameworks.helpers import finding, record_run, usage

STATUS_KEYS = {"framework", "as_of", "summary", "controls"}
CONTROL_KEYS = {
    "id",
    "title",
    "automation",
    "responsibility",
    "overall_responsibility",
    "status",
    "automated",
    "customer_evidence",
    "exceptions",
    "expected_evidence",
    "passed",
    "failed",
    "check_ids",
}


@pytest.fixture
def injected(monkeypatch: pytest.MonkeyPatch) -> dict[int, list[Finding]]:
    """Findings per run id, served through the wiring functions `status` calls."""
    by_run: dict[int, list[Finding]] = {}

    def findings(store: EvidenceStore, run_id: int) -> list[Finding]:
        return by_run[run_id]

    def service_usage(store: EvidenceStore, run_id: int) -> ServiceUsage:
        return usage("s3")

    monkeypatch.setattr(wiring, "stored_findings", lambda settings: findings)
    monkeypatch.setattr(wiring, "stored_service_usage", service_usage)
    return by_run


def test_status_json_shape_and_verdicts(cli_env, run_cli, engine: Engine, injected) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    run = record_run(engine, now - timedelta(minutes=5))
    injected[run.id] = [
        finding("s3.default_encryption", resource="arn:aws:s3:::ok", observed_at=now - timedelta(minutes=6)),
        finding("s3.default_encryption", "fail", resource="arn:aws:s3:::phi", observed_at=now - timedelta(minutes=6)),
    ]
    result = run_cli("status", "--framework", "hipaa", "--format", "json")
    assert result.code == 0, result
    data = json.loads(result.stdout)
    assert set(data) >= STATUS_KEYS and data["framework"] == "hipaa"
    assert set(data["summary"]["by_status"]) == {
        "met",
        "not_met",
        "excepted",
        "evidence_needed",
        "incomplete",
        "inherited",
        "not_applicable",
    }
    assert set(data["summary"]["by_responsibility"]) == {"aws", "shared", "customer"}
    assert sum(data["summary"]["by_status"].values()) == data["summary"]["requirements"] == 50
    assert len(data["controls"]) == 65 and all(set(c) >= CONTROL_KEYS for c in data["controls"])
    assert data["runs"][0]["id"] == run.id and data["services_in_use"] == ["s3"]
    encryption = next(c for c in data["controls"] if c["id"] == "164.312(a)(2)(iv)")
    assert (encryption["status"], encryption["automated"]) == ("not_met", "fail")
    assert (encryption["passed"], encryption["failed"]) == (1, 1)
    # partial since issue 13: the checks cover S3, EBS and RDS, the other stores of ePHI need the customer's list
    assert encryption["customer_evidence"] == {"state": "needed", "items": [], "submitted": [], "expired": []}
    assert encryption["attestation_required"] is True and encryption["expected_evidence"]
    assert encryption["exceptions"] == [] and data["expiring"] == {"within_days": 30, "items": [], "exceptions": []}
    assert encryption["responsibility"] == {"s3": "shared"} and encryption["overall_responsibility"] == "shared"
    assert "s3.default_encryption" in encryption["check_ids"]
    assert encryption["checks"][0]["failing"][0]["resource_id"] == "arn:aws:s3:::phi"
    heading = next(c for c in data["controls"] if c["id"] == "164.312(a)(1)")
    assert heading["heading"] and heading["status"] == "not_met"
    facility = next(c for c in data["controls"] if c["id"] == "164.310(a)(2)(ii)")
    assert facility["status"] == "inherited" and facility["aws_evidence"]
    assert data["matrix"]["services"] == ["s3"]


def test_status_table_lists_each_control(cli_env, run_cli, engine: Engine, injected) -> None:  # type: ignore[no-untyped-def]
    run = record_run(engine, datetime.now(UTC) - timedelta(minutes=5))
    injected[run.id] = [finding("guardduty.enabled", "fail", observed_at=datetime.now(UTC) - timedelta(minutes=6))]
    result = run_cli("status", "--framework", "soc2")
    assert result.code == 0, result
    assert "CC7.2" in result.stdout and "not_met" in result.stdout and "CC6.4" in result.stdout
    assert "requirements by status:" in result.stdout


def test_as_of_uses_the_run_of_that_day_and_marks_old_evidence_stale(
    cli_env, run_cli, engine: Engine, injected
) -> None:  # type: ignore[no-untyped-def]
    old = record_run(engine, datetime(2026, 1, 10, 2, 0, tzinfo=UTC))
    new = record_run(engine, datetime(2026, 1, 20, 2, 0, tzinfo=UTC))
    injected[old.id] = [finding("iam.root_mfa_enabled", observed_at=datetime(2026, 1, 10, 2, 0, tzinfo=UTC))]
    injected[new.id] = [finding("iam.root_mfa_enabled", "fail", observed_at=datetime(2026, 1, 20, 2, 0, tzinfo=UTC))]

    def root_control(day: str) -> dict:  # type: ignore[type-arg]
        result = run_cli("status", "--framework", "hipaa", "--as-of", day, "--format", "json")
        assert result.code == 0, result
        data = json.loads(result.stdout)
        return {"run": data["runs"][0]["id"], **next(c for c in data["controls"] if c["id"] == "164.312(a)(2)(ii)")}

    fresh = root_control("2026-01-11")
    # a partial control: its checks pass, the customer's evidence is still needed
    assert fresh["run"] == old.id and fresh["automated"] == "pass" and fresh["status"] == "evidence_needed"
    assert fresh["customer_evidence"]["state"] == "needed"
    stale = root_control("2026-01-15")  # the Jan 10 run is the latest, but older than 48 h
    assert stale["run"] == old.id and stale["status"] == "incomplete" and stale["stale"] == 1
    later = root_control("2026-01-20")
    assert later["run"] == new.id and later["status"] == "not_met"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "2026-02-30"], "--as-of: '2026-02-30' is not a date; expected YYYY-MM-DD"),
        (["--as-of", "31/01/2026"], "--as-of: '31/01/2026' is not a date; expected YYYY-MM-DD"),
        (["--as-of", "2999-01-01"], "--as-of: 2999-01-01 is in the future"),
        (["--scope", "A9"], "unknown scope(s) A9 for framework 'hipaa'"),
    ],
)
def test_bad_input_exits_2_with_a_precise_message(cli_env, run_cli, args, message) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("status", "--framework", "hipaa", *args)
    assert result.code == 2, result
    assert message in result.stderr


def test_unknown_framework_exits_2(cli_env, run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("status", "--framework", "pci")
    assert result.code == 2 and "unknown framework 'pci'; known frameworks: hipaa" in result.stderr


def test_scopes_come_from_settings_or_the_command_line(cli_env, run_cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AUDITPACK_SCOPES", "soc2:availability")
    data = json.loads(run_cli("status", "--framework", "soc2", "--format", "json").stdout)
    assert data["scopes"] == ["availability", "security"]
    in_scope = {c["id"] for c in data["controls"] if c["in_scope"]}
    assert "A1.2" in in_scope and "C1.1" not in in_scope
    data = json.loads(run_cli("status", "--framework", "soc2", "--scope", "privacy", "--format", "json").stdout)
    assert data["scopes"] == ["privacy", "security"]
    monkeypatch.setenv("AUDITPACK_SCOPES", "availability")
    bad = run_cli("status", "--framework", "soc2")
    assert bad.code == 2 and "AUDITPACK_SCOPES: 'availability': expected FRAMEWORK:SCOPE pairs" in bad.stderr


def test_without_a_run_status_warns_and_nothing_passes(cli_env, run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("status", "--framework", "hipaa", "--format", "json")
    assert result.code == 0, result
    data = json.loads(result.stdout)
    assert data["runs"] == [] and data["summary"]["by_status"]["met"] == 0
    assert "no complete or partial evidence run" in result.stderr


def test_status_of_a_collected_estate_rests_on_its_stored_findings(collected, run_cli, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Real collection (the scenario Organization in moto): status reads the findings stored with the run."""
    monkeypatch.setenv("AUDITPACK_DATABASE_URL", f"sqlite:///{collected.path}")
    monkeypatch.setenv("AUDITPACK_DATA_DIR", str(tmp_path / "data"))
    result = run_cli("status", "--framework", "pci-dss", "--format", "json")
    assert result.code == 0, result
    data = json.loads(result.stdout)
    assert [run["id"] for run in data["runs"]] == [collected.run.id]
    controls = {control["id"]: control for control in data["controls"]}
    # 8.4.2 (MFA for access to the cardholder data environment) rests on iam.user_mfa_enabled, which fails for
    # the scenario's console user without MFA; a control is never met while one of its checks fails.
    assert "iam.user_mfa_enabled" in controls["8.4.2"]["check_ids"]
    assert controls["8.4.2"]["status"] == "not_met" and controls["8.4.2"]["failed"] >= 1
    stored = {f.check_id for f in collected.findings("iam.user_mfa_enabled") if f.status == "fail"}
    assert stored == {"iam.user_mfa_enabled"}
