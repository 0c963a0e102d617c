"""efs.* checks: encryption at rest (moto), and AWS Backup coverage: the file system's backup policy (moto) or a
backup plan selecting it (botocore's Stubber: moto implements no backup selections)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from evidence.checks._selections import selects
from evidence.checks.types import Finding, FindingStatus
from evidence.store import EvidenceStore
from tests.evidence.collectors.backup_answers import plan_arn, stub_plans
from tests.evidence.collectors.harness import REGION, findings_of, run_collectors
from tests.moto_server import fake_aws_env
from tests.scenario import Collected

PASS, FAIL, ERROR = FindingStatus.PASS, FindingStatus.FAIL, FindingStatus.ERROR
ALL_EFS = {"SelectionName": "file-systems", "Resources": ["arn:aws:elasticfilesystem:*:*:file-system/*"]}


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def _file_system(session: boto3.Session, token: str, **options: Any) -> str:
    return session.client("efs").create_file_system(CreationToken=token, **options)["FileSystemArn"]


def _collect(
    store: EvidenceStore, session: boto3.Session, plans: dict[str, list[dict[str, Any]]]
) -> dict[str, Finding]:
    backup = session.client("backup", region_name=REGION)
    with Stubber(backup) as stubber:
        stub_plans(stubber, plans)
        run = run_collectors(store, session, ["efs", "backup_plans"], clients={"backup": backup})
        stubber.assert_no_pending_responses()
    return {f.resource_id: f for f in findings_of(store, run, "efs.in_backup_plan")}


def test_encryption_at_rest(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    encrypted = _file_system(aws, "a", Encrypted=True)
    plain = _file_system(aws, "b")
    run = run_collectors(sqlite_store, aws, ["efs"])
    found = {f.resource_id: f for f in findings_of(sqlite_store, run, "efs.encrypted_at_rest")}
    assert found[encrypted].status == PASS
    assert found[plain].status == FAIL and "not encrypted at rest" in found[plain].reason


def test_automatic_backups_or_a_selecting_plan_cover_a_file_system(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    automatic = _file_system(aws, "auto", Backup=True)
    tagged = _file_system(aws, "tagged", Tags=[{"Key": "backup", "Value": "daily"}])
    untagged = _file_system(aws, "untagged", Tags=[{"Key": "backup", "Value": "never"}])
    by_tag = {
        "SelectionName": "tagged",
        "Resources": ["*"],
        "Conditions": {"StringEquals": [{"ConditionKey": "aws:ResourceTag/backup", "ConditionValue": "daily"}]},
    }
    found = _collect(
        sqlite_store, aws, {"rds-only": [{"SelectionName": "db", "Resources": ["arn:aws:rds:*"]}], "daily": [by_tag]}
    )
    assert (found[automatic].status, found[automatic].reason) == (
        PASS,
        "automatic backups are on (AWS Backup's default plan)",
    )
    assert (found[tagged].status, found[tagged].reason) == (
        PASS,
        f"selected by backup plan {plan_arn('daily')} (selection tagged)",
    )
    assert (found[untagged].status, found[untagged].reason) == (
        FAIL,
        "no AWS Backup plan in the region selects it and automatic backups are off",
    )


def test_an_excluded_file_system_is_not_covered(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    arn = _file_system(aws, "scratch")
    excluding = {**ALL_EFS, "NotResources": [arn]}
    assert _collect(sqlite_store, aws, {"daily": [excluding]})[arn].status == FAIL


def test_no_backup_plan_at_all_fails(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    arn = _file_system(aws, "lonely")
    assert _collect(sqlite_store, aws, {})[arn].status == FAIL


def test_unreadable_selections_are_an_error_for_each_file_system_they_might_cover(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    first, second = _file_system(aws, "a"), _file_system(aws, "b")
    aws.client("backup").create_backup_plan(
        BackupPlan={"BackupPlanName": "daily", "Rules": [{"RuleName": "d", "TargetBackupVaultName": "Default"}]}
    )
    run = run_collectors(sqlite_store, aws, ["efs", "backup_plans"])  # moto: ListBackupSelections not implemented
    found = {f.resource_id: f for f in findings_of(sqlite_store, run, "efs.in_backup_plan")}
    assert set(found) == {first, second}
    assert all(f.status == ERROR and "backup:ListBackupSelections failed" in f.reason for f in found.values())


def test_a_plan_that_covers_it_decides_even_when_another_plans_selections_are_unread(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    arn = _file_system(aws, "shared")
    backup = aws.client("backup", region_name=REGION)
    with Stubber(backup) as stubber:
        stubber.add_response(
            "list_backup_plans",
            {"BackupPlansList": [{"BackupPlanArn": plan_arn("broken"), "BackupPlanId": "broken"}]},
            {},
        )
        stubber.add_response("get_backup_plan", {"BackupPlanId": "broken"}, {"BackupPlanId": "broken"})
        stubber.add_client_error(
            "list_backup_selections", service_error_code="AccessDeniedException", http_status_code=403
        )
        run = run_collectors(sqlite_store, aws, ["efs", "backup_plans"], clients={"backup": backup})
    [unread] = findings_of(sqlite_store, run, "efs.in_backup_plan")
    assert (unread.resource_id, unread.status) == (arn, ERROR)
    # with a second plan that selects every file system, the unread one no longer matters
    assert _collect(sqlite_store, aws, {"daily": [ALL_EFS]})[arn].status == PASS


@pytest.mark.parametrize(
    ("document", "selected"),
    [
        ({"Resources": ["*"]}, True),
        ({}, True),  # nothing narrowed: every supported resource
        ({"Resources": ["arn:aws:elasticfilesystem:us-east-1:*:file-system/*"]}, True),
        ({"Resources": ["arn:aws:elasticfilesystem:eu-west-1:*:file-system/*"]}, False),
        ({"Resources": ["*"], "NotResources": ["arn:aws:elasticfilesystem:*"]}, False),
        ({"ListOfTags": [{"ConditionType": "STRINGEQUALS", "ConditionKey": "env", "ConditionValue": "prod"}]}, True),
        ({"ListOfTags": [{"ConditionType": "STRINGEQUALS", "ConditionKey": "env", "ConditionValue": "dev"}]}, False),
        (
            {
                "Resources": ["*"],
                "Conditions": {
                    "StringEquals": [{"ConditionKey": "aws:ResourceTag/env", "ConditionValue": "prod"}],
                    "StringLike": [{"ConditionKey": "aws:ResourceTag/team", "ConditionValue": "data*"}],
                },
            },
            True,
        ),
        (
            {"Conditions": {"StringNotEquals": [{"ConditionKey": "aws:ResourceTag/env", "ConditionValue": "prod"}]}},
            False,
        ),
        ({"Conditions": {"StringNotLike": [{"ConditionKey": "aws:ResourceTag/owner", "ConditionValue": "*"}]}}, True),
        (  # resources and tags named together must both match (our reading; it can only undercount)
            {
                "Resources": ["arn:aws:rds:*"],
                "ListOfTags": [{"ConditionType": "STRINGEQUALS", "ConditionKey": "env", "ConditionValue": "prod"}],
            },
            False,
        ),
    ],
)
def test_selection_rules(document: dict[str, Any], selected: bool) -> None:
    arn = "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0123"
    assert selects(document, arn, {"env": "prod", "team": "data-eng"}) is selected


def test_in_the_scenario_estate(collected: Collected) -> None:
    shared, scratch = collected.estate.ids["shared_files"], collected.estate.ids["scratch_files"]
    for check_id in ("efs.encrypted_at_rest", "efs.in_backup_plan"):
        assert collected.finding(check_id, shared).status == PASS
        assert collected.finding(check_id, scratch).status == FAIL
    assert collected.finding("efs.in_backup_plan", shared).owner == "storage-team"
