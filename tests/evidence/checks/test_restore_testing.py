"""backup.restore_testing_plan: every region with AWS Backup plans has a restore testing plan that tests something.
moto implements no restore testing, so the backup client is botocore's Stubber; against moto the listing is a gap
and the check an error."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from evidence.checks.types import Finding, FindingStatus
from evidence.store import EvidenceStore
from tests.evidence.collectors.backup_answers import stub_plans, stub_restore_testing
from tests.evidence.collectors.harness import REGION, findings_of, run_collectors
from tests.moto_server import fake_aws_env
from tests.scenario import Collected

PASS, FAIL, NA, ERROR = (
    FindingStatus.PASS,
    FindingStatus.FAIL,
    FindingStatus.NOT_APPLICABLE,
    FindingStatus.ERROR,
)
CHECK = "backup.restore_testing_plan"
DAILY = {"daily": [{"SelectionName": "all", "Resources": ["*"]}]}


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def _finding(
    store: EvidenceStore, session: boto3.Session, plans: dict[str, Any], restore: dict[str, list[str]], **kw: Any
) -> Finding:
    backup = session.client("backup", region_name=REGION)
    with Stubber(backup) as stubber:
        stub_plans(stubber, plans)
        stub_restore_testing(stubber, restore, **kw)
        run = run_collectors(store, session, ["backup_plans", "restore_testing"], clients={"backup": backup})
        stubber.assert_no_pending_responses()
    [finding] = findings_of(store, run, CHECK)
    assert finding.resource_id == f"123456789012/{REGION}/backup-restore-testing"
    return finding


def test_a_plan_testing_restores_passes(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    finding = _finding(sqlite_store, aws, DAILY, {"weekly": ["RDS", "EFS"]}, last_run=datetime(2026, 11, 1, tzinfo=UTC))
    assert finding.status == PASS
    assert finding.reason == (
        "restore testing plan weekly tests restores of EFS, RDS on cron(0 1 ? * SUN *), last run 2026-11-01T00:00:00Z"
    )


def test_backups_without_restore_testing_fail(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    finding = _finding(sqlite_store, aws, DAILY, {})
    assert finding.status == FAIL and "no restore testing plan tests" in finding.reason


def test_a_restore_testing_plan_that_selects_nothing_fails(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    finding = _finding(sqlite_store, aws, DAILY, {"weekly": []})
    assert finding.status == FAIL and "selects anything" in finding.reason


def test_without_backup_plans_there_is_nothing_to_restore(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    assert _finding(sqlite_store, aws, {}, {}).status == NA


def test_against_moto_restore_testing_is_an_error_never_a_pass(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    aws.client("backup").create_backup_plan(
        BackupPlan={"BackupPlanName": "daily", "Rules": [{"RuleName": "d", "TargetBackupVaultName": "Default"}]}
    )
    run = run_collectors(sqlite_store, aws, ["backup_plans", "restore_testing"])
    [finding] = findings_of(sqlite_store, run, CHECK)
    assert finding.status == ERROR and "backup:ListRestoreTestingPlans failed" in finding.reason


def test_unread_selections_are_an_error_unless_another_plan_decides(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    unread = _finding(sqlite_store, aws, DAILY, {"weekly": None})
    assert unread.status == ERROR
    assert "backup:ListRestoreTestingSelections failed (AccessDeniedException" in unread.reason
    assert _finding(sqlite_store, aws, DAILY, {"weekly": None, "monthly": ["S3"]}).status == PASS


def test_in_the_scenario_estate(collected: Collected) -> None:
    estate = collected.estate
    # the management account's us-east-1 has a backup plan: moto cannot say whether restores are tested
    tested = collected.finding(CHECK, f"{estate.management}/us-east-1/backup-restore-testing")
    assert tested.status == ERROR and "backup:ListRestoreTestingPlans failed" in tested.reason
    nothing = collected.finding(CHECK, f"{estate.member_a}/us-east-1/backup-restore-testing")
    assert nothing.status == NA
