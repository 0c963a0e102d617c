"""inspector2.* checks: Inspector's scan coverage per region, and critical findings open past the limit. Collected
from moto (its documented queue of prepared ListFindings results stands in for Inspector's scans)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from evidence.checks.evaluate import evaluate_run
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import FindingStatus
from evidence.checks.unit import units
from evidence.checks.view import EvidenceView
from evidence.store import EvidenceStore
from tests.evidence.checks.test_missing_evidence import ACCOUNT, WHEN, record, scope
from tests.evidence.collectors.harness import REGION, findings_of, refuse, run_collectors
from tests.evidence.collectors.test_vulnerabilities import critical_finding, plant_findings
from tests.moto_server import fake_aws_env
from tests.scenario import Collected

PASS, FAIL, ERROR = FindingStatus.PASS, FindingStatus.FAIL, FindingStatus.ERROR
MOTO_ACCOUNT = "123456789012"


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def _enable(session: boto3.Session, *types: str) -> str:
    account = session.client("sts").get_caller_identity()["Account"]
    session.client("inspector2").enable(accountIds=[account], resourceTypes=list(types))
    return account


def test_enabled_for_ec2_ecr_and_lambda_passes(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    _enable(aws, "EC2", "ECR", "LAMBDA", "LAMBDA_CODE")
    [finding] = findings_of(sqlite_store, run_collectors(sqlite_store, aws, ["inspector2"]), "inspector2.enabled")
    assert (finding.status, finding.reason) == (PASS, "Inspector scans EC2, ECR and Lambda and Lambda code")
    assert finding.resource_id == f"{MOTO_ACCOUNT}/{REGION}/inspector2"


def test_scanning_some_types_only_fails_naming_the_others(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    _enable(aws, "EC2")
    [finding] = findings_of(sqlite_store, run_collectors(sqlite_store, aws, ["inspector2"]), "inspector2.enabled")
    assert (finding.status, finding.reason) == (FAIL, "Inspector does not scan ECR (disabled), Lambda (disabled)")


def test_never_enabled_fails(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    [finding] = findings_of(sqlite_store, run_collectors(sqlite_store, aws, ["inspector2"]), "inspector2.enabled")
    assert finding.status == FAIL and "never been enabled" in finding.reason


def test_a_refused_status_read_is_an_error_for_both_checks(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    _enable(aws, "EC2", "ECR", "LAMBDA")
    refuse(aws, "inspector2.BatchGetAccountStatus")
    run = run_collectors(sqlite_store, aws, ["inspector2"])
    for check_id in ("inspector2.enabled", "inspector2.no_stale_critical_findings"):
        [finding] = findings_of(sqlite_store, run, check_id)
        assert finding.status == ERROR
        assert "inspector2:BatchGetAccountStatus failed (AccessDeniedException" in finding.reason


def test_an_account_inspector_could_not_report_on_is_an_error_not_a_verdict() -> None:
    status = record(
        "inspector2.account_status",
        f"{ACCOUNT}/us-east-1/inspector2",
        {
            "accounts": [],
            "failedAccounts": [{"accountId": ACCOUNT, "errorCode": "INTERNAL_ERROR", "errorMessage": "try again"}],
        },
    )
    [finding] = units()["inspector2.enabled"].run(EvidenceView([*scope(), status], []), Thresholds(), WHEN)
    assert finding.status == ERROR and "INTERNAL_ERROR: try again" in finding.reason


def test_critical_findings_open_longer_than_the_limit_fail(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    account = _enable(aws, "EC2", "ECR", "LAMBDA")
    plant_findings(
        account,
        [critical_finding(account, 1, days_open=45, resource="i-0old"), critical_finding(account, 2, days_open=3)],
    )
    run = run_collectors(sqlite_store, aws, ["inspector2"])
    findings = {
        f.resource_id.rsplit("/", 1)[-1]: f
        for f in findings_of(sqlite_store, run, "inspector2.no_stale_critical_findings")
    }
    stale, fresh = findings[f"{1:032x}"], findings[f"{2:032x}"]
    assert stale.status == FAIL
    assert stale.reason == "CVE-2024-0001 on AWS_EC2_INSTANCE i-0old has been open 45 days (limit 30)"
    assert fresh.status == PASS and "within the 30-day limit" in fresh.reason
    # the limit is a setting: at 60 days both are within it
    relaxed = evaluate_run(sqlite_store, run.id, thresholds=Thresholds(inspector_critical_max_open_days=60))
    assert {f.status for f in relaxed if f.check_id == "inspector2.no_stale_critical_findings"} == {PASS}


def test_no_open_critical_finding_passes_on_the_complete_listing(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    _enable(aws, "EC2", "ECR", "LAMBDA")
    run = run_collectors(sqlite_store, aws, ["inspector2"])
    [finding] = findings_of(sqlite_store, run, "inspector2.no_stale_critical_findings")
    assert (finding.status, finding.reason) == (PASS, "Inspector holds no open critical finding")
    assert finding.resource_id.endswith("/inspector2.critical_finding")


def test_where_inspector_scans_nothing_no_findings_proves_nothing(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    run = run_collectors(sqlite_store, aws, ["inspector2"])
    [finding] = findings_of(sqlite_store, run, "inspector2.no_stale_critical_findings")
    assert finding.status == ERROR and finding.reason.startswith("cannot decide: Inspector scans nothing here")


def test_a_refused_findings_listing_is_an_error_never_a_pass(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    _enable(aws, "EC2")
    refuse(aws, "inspector2.ListFindings")
    run = run_collectors(sqlite_store, aws, ["inspector2"])
    [finding] = findings_of(sqlite_store, run, "inspector2.no_stale_critical_findings")
    assert finding.status == ERROR and "inspector2:ListFindings failed (AccessDeniedException" in finding.reason


def test_in_the_scenario_estate(collected: Collected) -> None:
    estate = collected.estate
    east, west = f"{estate.management}/us-east-1/inspector2", f"{estate.management}/eu-west-1/inspector2"
    assert collected.finding("inspector2.enabled", east).status == PASS
    assert collected.finding("inspector2.enabled", west).status == FAIL  # EC2 only
    assert collected.finding("inspector2.enabled", f"{estate.member_a}/us-east-1/inspector2").status == FAIL
    stale = collected.finding("inspector2.no_stale_critical_findings", estate.ids["stale_finding"])
    assert stale.status == FAIL and stale.reason.startswith("CVE-2023-50782 on AWS_LAMBDA_FUNCTION")
    assert stale.reason.endswith(":function:legacy-job has been open 45 days (limit 30)")
    fresh = collected.finding("inspector2.no_stale_critical_findings", estate.ids["fresh_finding"])
    assert fresh.status == PASS
    # eu-west-1 scans EC2 and holds no finding; member accounts scan nothing, so nothing can be concluded there
    listing = collected.finding(
        "inspector2.no_stale_critical_findings", f"{estate.management}/eu-west-1/inspector2.critical_finding"
    )
    assert listing.status == PASS
    member = collected.finding("inspector2.no_stale_critical_findings", f"{estate.member_b}/eu-west-1/inspector2")
    assert member.status == ERROR
