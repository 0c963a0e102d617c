"""AWS Backup answers for botocore's Stubber (moto implements neither backup selections nor restore testing):
shaped as the AWS Backup API reference shows them, and validated by Stubber against botocore's service model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.stub import Stubber

from tests.evidence.collectors.harness import REGION

ACCOUNT = "123456789012"  # moto's default account, which the harness collects
CREATED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/AWSBackupDefaultServiceRole"


def plan_arn(plan_id: str) -> str:
    return f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-plan:{plan_id}"


def stub_plans(stubber: Stubber, plans: dict[str, list[dict[str, Any]]]) -> None:
    """ListBackupPlans, then for each plan GetBackupPlan, ListBackupSelections and GetBackupSelection per selection.
    `plans`: plan id -> its selections (each a BackupSelection document)."""
    stubber.add_response(
        "list_backup_plans",
        {
            "BackupPlansList": [
                {
                    "BackupPlanArn": plan_arn(plan_id),
                    "BackupPlanId": plan_id,
                    "BackupPlanName": plan_id,
                    "VersionId": "v1",
                    "CreationDate": CREATED,
                }
                for plan_id in plans
            ]
        },
        {},
    )
    for plan_id, selections in plans.items():
        stubber.add_response(
            "get_backup_plan",
            {
                "BackupPlan": {
                    "BackupPlanName": plan_id,
                    "Rules": [
                        {
                            "RuleName": "daily",
                            "TargetBackupVaultName": "Default",
                            "ScheduleExpression": "cron(0 5 ? * * *)",
                            "Lifecycle": {"DeleteAfterDays": 35},
                        }
                    ],
                },
                "BackupPlanId": plan_id,
                "BackupPlanArn": plan_arn(plan_id),
                "VersionId": "v1",
                "CreationDate": CREATED,
            },
            {"BackupPlanId": plan_id},
        )
        ids = [f"{plan_id}-selection-{n}" for n in range(len(selections))]
        stubber.add_response(
            "list_backup_selections",
            {
                "BackupSelectionsList": [
                    {
                        "SelectionId": selection_id,
                        "SelectionName": selection["SelectionName"],
                        "BackupPlanId": plan_id,
                        "CreationDate": CREATED,
                        "IamRoleArn": ROLE,
                    }
                    for selection_id, selection in zip(ids, selections, strict=True)
                ]
            },
            {"BackupPlanId": plan_id},
        )
        for selection_id, selection in zip(ids, selections, strict=True):
            stubber.add_response(
                "get_backup_selection",
                {
                    "BackupSelection": {"IamRoleArn": ROLE, **selection},
                    "SelectionId": selection_id,
                    "BackupPlanId": plan_id,
                    "CreationDate": CREATED,
                },
                {"BackupPlanId": plan_id, "SelectionId": selection_id},
            )


def restore_plan(name: str, *, last_run: datetime | None = None) -> dict[str, Any]:
    plan: dict[str, Any] = {
        "RestoreTestingPlanArn": f"arn:aws:backup:{REGION}:{ACCOUNT}:restore-testing-plan:{name}-8d3ac5f6",
        "RestoreTestingPlanName": name,
        "ScheduleExpression": "cron(0 1 ? * SUN *)",
        "ScheduleExpressionTimezone": "Etc/UTC",
        "StartWindowHours": 24,
        "CreationTime": CREATED,
    }
    if last_run is not None:
        plan["LastExecutionTime"] = last_run
    return plan


def stub_restore_testing(
    stubber: Stubber, plans: dict[str, list[str] | None], *, last_run: datetime | None = None
) -> None:
    """ListRestoreTestingPlans, then ListRestoreTestingSelections per plan. `plans`: name -> protected resource
    types its selections test (None: reading them is refused)."""
    stubber.add_response(
        "list_restore_testing_plans",
        {"RestoreTestingPlans": [restore_plan(name, last_run=last_run) for name in plans]},
        {},
    )
    for name, types in plans.items():
        if types is None:
            stubber.add_client_error(
                "list_restore_testing_selections", service_error_code="AccessDeniedException", http_status_code=403
            )
            continue
        stubber.add_response(
            "list_restore_testing_selections",
            {
                "RestoreTestingSelections": [
                    {
                        "CreationTime": CREATED,
                        "IamRoleArn": ROLE,
                        "ProtectedResourceType": kind,
                        "RestoreTestingPlanName": name,
                        "RestoreTestingSelectionName": f"{kind.lower()}_selection",
                        "ValidationWindowHours": 2,
                    }
                    for kind in types
                ]
            },
            {"RestoreTestingPlanName": name},
        )
