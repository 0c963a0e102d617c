"""AWS Backup selections (what each plan selects) and restore testing plans. moto implements neither, so the
backup client is botocore's Stubber; a selection or restore testing read that fails is a gap, and a plan whose
selections are known only in part is not recorded (it would prove nothing about what it does not cover)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from evidence.store import EvidenceStore
from tests.evidence.collectors.backup_answers import plan_arn, stub_plans, stub_restore_testing
from tests.evidence.collectors.harness import REGION, evidence_of, run_collectors
from tests.moto_server import fake_aws_env

ALL_EFS = {"SelectionName": "file-systems", "Resources": ["arn:aws:elasticfilesystem:*:*:file-system/*"]}
TAGGED = {
    "SelectionName": "tagged",
    "Resources": ["*"],
    "Conditions": {"StringEquals": [{"ConditionKey": "aws:ResourceTag/backup", "ConditionValue": "daily"}]},
}


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def test_each_plan_is_recorded_with_what_its_selections_select(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    backup = aws.client("backup", region_name=REGION)
    with Stubber(backup) as stubber:
        stub_plans(stubber, {"daily": [ALL_EFS, TAGGED]})
        run = run_collectors(sqlite_store, aws, ["backup_plans"], clients={"backup": backup})
        stubber.assert_no_pending_responses()
    [selections] = evidence_of(sqlite_store, run, "backup.selections")
    assert selections.resource_id == plan_arn("daily")
    documents = [s["BackupSelection"] for s in selections.payload["Selections"]]
    assert [d["SelectionName"] for d in documents] == ["file-systems", "tagged"]
    assert documents[1]["Conditions"]["StringEquals"][0]["ConditionValue"] == "daily"
    assert sqlite_store.gaps(run.id) == []


def test_a_selection_that_cannot_be_read_leaves_the_plans_selections_unrecorded(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    backup = aws.client("backup", region_name=REGION)
    with Stubber(backup) as stubber:
        stubber.add_response(
            "list_backup_plans",
            {"BackupPlansList": [{"BackupPlanArn": plan_arn("daily"), "BackupPlanId": "daily", "BackupPlanName": "d"}]},
            {},
        )
        stubber.add_response("get_backup_plan", {"BackupPlanId": "daily"}, {"BackupPlanId": "daily"})
        stubber.add_response(
            "list_backup_selections",
            {"BackupSelectionsList": [{"SelectionId": "s1", "SelectionName": "all", "BackupPlanId": "daily"}]},
            {"BackupPlanId": "daily"},
        )
        stubber.add_client_error(
            "get_backup_selection", service_error_code="AccessDeniedException", http_status_code=403
        )
        run = run_collectors(sqlite_store, aws, ["backup_plans"], clients={"backup": backup})
    assert evidence_of(sqlite_store, run, "backup.selections") == []
    [gap] = sqlite_store.gaps(run.id)
    assert (gap.operation, gap.kind, gap.resource_id) == ("GetBackupSelection", "backup.selections", plan_arn("daily"))


def test_restore_testing_plans_with_their_selections(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    backup = aws.client("backup", region_name=REGION)
    with Stubber(backup) as stubber:
        stub_restore_testing(stubber, {"weekly": ["EFS", "RDS"], "empty": []})
        run = run_collectors(sqlite_store, aws, ["restore_testing"], clients={"backup": backup})
        stubber.assert_no_pending_responses()
    plans = {
        r.payload["RestoreTestingPlanName"]: r for r in evidence_of(sqlite_store, run, "backup.restore_testing_plan")
    }
    assert set(plans) == {"weekly", "empty"}
    tested = {
        r.payload["RestoreTestingPlanName"]: [s["ProtectedResourceType"] for s in r.payload["RestoreTestingSelections"]]
        for r in evidence_of(sqlite_store, run, "backup.restore_testing_selections")
    }
    assert tested == {"weekly": ["EFS", "RDS"], "empty": []}
    [listing] = [
        r for r in evidence_of(sqlite_store, run, "listing") if r.resource_type == "backup.restore_testing_plan"
    ]
    assert listing.payload["count"] == 2


def test_against_moto_restore_testing_is_a_gap(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    run = run_collectors(sqlite_store, aws, ["restore_testing"])
    [gap] = sqlite_store.gaps(run.id)
    assert (gap.operation, gap.kind) == ("ListRestoreTestingPlans", "backup.restore_testing_plan")
    assert evidence_of(sqlite_store, run, "listing") == []
