"""`auditpack collect`, `findings` and `iam-policy` in-process against moto (mock_aws)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from tests.moto_server import fake_aws_env

REGION = "us-east-1"


@pytest.fixture
def estate() -> Iterator[str]:
    """One account: a bucket without encryption, a log group keeping 30 days, a running instance."""
    with fake_aws_env(), mock_aws():
        session = boto3.Session(region_name=REGION)
        session.client("s3").create_bucket(Bucket="cli-bucket")
        logs = session.client("logs")
        logs.create_log_group(logGroupName="/cli/app")
        logs.put_retention_policy(logGroupName="/cli/app", retentionInDays=30)
        session.client("ec2").run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1)
        yield session.client("sts").get_caller_identity()["Account"]


def test_collect_then_findings_as_json(cli_env, estate: str, run_cli) -> None:  # type: ignore[no-untyped-def]
    collected = run_cli("collect", "--region", REGION, "--format", "json")
    assert collected.code == 0, collected
    summary = json.loads(collected.stdout)
    assert summary["status"] == "partial"  # moto does not implement SSM instance information: a gap
    assert summary["evidence"] > 10 and summary["api_calls"] > 10 and summary["duration_seconds"] > 0
    ssm = [g for g in summary["gap_details"] if g["operation"] == "ssm:DescribeInstanceInformation"]
    assert [g["error_code"] for g in ssm] == ["NotImplemented"]
    assert summary["findings"]["error"] >= 2 and summary["findings"]["fail"] >= 1

    shown = run_cli("findings", "--check", "s3.default_encryption", "--format", "json")
    assert shown.code == 0, shown
    [bucket] = json.loads(shown.stdout)
    assert bucket["check_id"] == "s3.default_encryption" and bucket["status"] == "fail"
    assert bucket["resource_id"] == "arn:aws:s3:::cli-bucket" and bucket["account_id"] == estate
    assert bucket["region"] == REGION and bucket["observed_at"].endswith("Z")
    assert len(bucket["evidence"]) == 2 and all(len(sha) == 64 for sha in bucket["evidence"])
    iam = json.loads(run_cli("findings", "--check", "iam.root_mfa_enabled", "--format", "json").stdout)
    assert [(f["region"], f["status"]) for f in iam] == [("global", "fail")]
    errors = json.loads(run_cli("findings", "--status", "error", "--account", estate, "--format", "json").stdout)
    # SSM and Macie's findings are gaps under moto; Inspector and Security Hub were never enabled, so no findings
    # there proves nothing either way
    assert {f["check_id"] for f in errors} == {
        "ssm.instance_managed",
        "ssm.patch_compliant",
        "inspector2.no_stale_critical_findings",
        "securityhub.threat_findings_triaged",
        "macie.no_full_track_data_stored",
        "macie.no_card_verification_codes_stored",
    }
    assert json.loads(run_cli("findings", "--account", "999999999999", "--format", "json").stdout) == []


def test_collect_and_findings_tables(
    cli_env, estate: str, run_cli, sqlite_only, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from auditpack.cli import output

    monkeypatch.setattr(output.out, "width", 250)  # a wide terminal: rows stay on one line
    collected = run_cli("collect", "--region", REGION)
    assert collected.code == 0, collected
    assert "partial" in collected.stdout and "API calls" in collected.stdout and "evidence items" in collected.stdout
    assert "ssm:DescribeInstanceInformation NotImplemented" in collected.stderr
    table = run_cli("findings", "--status", "fail")
    assert table.code == 0 and "s3.default_encryption" in table.stdout and "arn:aws:s3:::cli-bucket" in table.stdout


def test_regions_not_opted_in_are_said_once_as_out_of_scope(
    cli_env, estate: str, run_cli, sqlite_only, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from auditpack.cli import output

    monkeypatch.setattr(output.out, "width", 250)
    # moto's opt-in regions start not opted in, as a new account's do
    collected = run_cli("collect", "--region", REGION, "--region", "ap-east-1", "--region", "me-south-1")
    assert collected.code == 0, collected
    assert collected.stdout.count("out of scope") == 1
    assert "out of scope, not opted in: ap-east-1 (1 account(s)), me-south-1 (1 account(s))" in collected.stdout
    assert "ap-east-1" not in collected.stderr  # not a gap
    summary = json.loads(run_cli("collect", "--region", REGION, "--region", "ap-east-1", "--format", "json").stdout)
    assert summary["out_of_scope"] == {
        "regions": [{"region": "ap-east-1", "opt_in_status": "not-opted-in", "accounts": [estate]}],
        "accounts": [],
    }
    assert not [g for g in summary["gap_details"] if g["region"] == "ap-east-1"]


def test_thresholds_and_owners_come_from_settings(
    cli_env, estate: str, run_cli, sqlite_only, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    owners = tmp_path / "owners.yaml"
    owners.write_text(f'services:\n  logs: observability\naccounts:\n  "{estate}": platform\n')
    monkeypatch.setenv("AUDITPACK_OWNERS_FILE", str(owners))
    assert run_cli("collect", "--region", REGION, "--format", "json").code == 0
    [group] = json.loads(run_cli("findings", "--check", "logs.retention_at_least_one_year", "--format", "json").stdout)
    assert (group["status"], group["owner"]) == ("fail", "observability")
    [bucket] = json.loads(run_cli("findings", "--check", "s3.default_encryption", "--format", "json").stdout)
    assert bucket["owner"] == "platform"
    monkeypatch.setenv("AUDITPACK_LOG_RETENTION_MIN_DAYS", "30")
    args = ("findings", "--check", "logs.retention_at_least_one_year", "--format", "json")
    assert json.loads(run_cli(*args).stdout)[0]["status"] == "fail"  # stored findings until re-evaluated
    assert json.loads(run_cli(*args, "--reevaluate").stdout)[0]["status"] == "pass"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("collect", "--role-name", "Auditor"), "--role-name needs --org or --account"),
        (("collect", "--account", "123"), "'123' is not 12 digits"),
        (("collect", "--org", "--account", "111111111111"), "either --org or --account"),
        (("collect", "--region", "mars-1"), "not a region name"),
        (("findings", "--check", "s3.nope"), "unknown check id 's3.nope'"),
        (("findings",), "there is no complete or partial run yet"),
    ],
)
def test_bad_input_exits_2_saying_what_is_wrong(
    cli_env, run_cli, sqlite_only, args: tuple[str, ...], message: str
) -> None:  # type: ignore[no-untyped-def]
    with fake_aws_env():
        result = run_cli(*args)
    assert result.code == 2, result
    assert message in result.stderr


def test_iam_policy_prints_the_generated_policy(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("iam-policy", "--role-name", "AuditpackReader")
    assert result.code == 0
    policy = json.loads(result.stdout)
    actions = policy["Statement"][0]["Action"]
    assert "s3:GetEncryptionConfiguration" in actions and "iam:GenerateCredentialReport" in actions
    assert policy["Statement"][2]["Resource"] == "arn:aws:iam::*:role/AuditpackReader"


def test_iam_policy_for_govcloud_names_the_role_in_its_partition(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("iam-policy", "--role-name", "AuditpackReader", "--partition", "aws-us-gov")
    assert result.code == 0
    assert json.loads(result.stdout)["Statement"][2]["Resource"] == "arn:aws-us-gov:iam::*:role/AuditpackReader"
    refused = run_cli("iam-policy", "--partition", "govcloud")
    assert refused.code == 2 and "unknown AWS partition 'govcloud'" in refused.stderr
