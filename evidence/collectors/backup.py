"""Backup: AWS Backup plans (rules, lifecycle) and what they select, restore testing plans, DynamoDB
point-in-time recovery. (RDS automated backup retention comes from the RDS read in `encryption`, EFS automatic
backups from the EFS read there.)"""

from __future__ import annotations

from typing import Any

from evidence.collectors.context import CollectorContext
from evidence.collectors.registry import Scope, collector


@collector(
    "backup_plans",
    produces=("backup.plan", "backup.selections"),
    domain="backup",
    scope=Scope.REGIONAL,
    calls=(
        "backup.ListBackupPlans",
        "backup.GetBackupPlan",
        "backup.ListBackupSelections",
        "backup.GetBackupSelection",
    ),
)
def collect_backup_plans(ctx: CollectorContext) -> None:
    plans = ctx.paginate("backup.ListBackupPlans", kind="backup.plan", result_key="BackupPlansList")
    if plans is None:
        return
    ctx.listing(kind="backup.plan", call="backup.ListBackupPlans", resource_ids=[p["BackupPlanArn"] for p in plans])
    for plan in plans:
        arn, plan_id = plan["BackupPlanArn"], plan["BackupPlanId"]
        detail = ctx.call("backup.GetBackupPlan", kind="backup.plan", resource_id=arn, BackupPlanId=plan_id)
        if detail is not None:
            ctx.record(kind="backup.plan", resource_type="backup-plan", resource_id=arn, payload=detail, tag_arn=arn)
        _selections(ctx, arn, plan_id)


def _selections(ctx: CollectorContext, arn: str, plan_id: str) -> None:
    """The plan's resource selections with what each selects (resources, exclusions, tag conditions), which
    only GetBackupSelection says. All or nothing: a plan whose selections are known in part proves nothing about
    what it does not cover."""
    selections = ctx.paginate(
        "backup.ListBackupSelections",
        kind="backup.selections",
        result_key="BackupSelectionsList",
        resource_id=arn,
        BackupPlanId=plan_id,
    )
    if selections is None:
        return
    documents = []
    for selection in selections:
        answer = ctx.call(
            "backup.GetBackupSelection",
            kind="backup.selections",
            resource_id=arn,
            BackupPlanId=plan_id,
            SelectionId=selection["SelectionId"],
        )
        if answer is None:
            return
        documents.append({"SelectionId": selection["SelectionId"], "BackupSelection": answer.get("BackupSelection")})
    ctx.record(
        kind="backup.selections",
        resource_type="backup-plan",
        resource_id=arn,
        payload={"BackupPlanId": plan_id, "BackupSelectionsList": selections, "Selections": documents},
        tag_arn=arn,
    )


@collector(
    "restore_testing",
    produces=("backup.restore_testing_plan", "backup.restore_testing_selections"),
    domain="backup",
    scope=Scope.REGIONAL,
    calls=("backup.ListRestoreTestingPlans", "backup.ListRestoreTestingSelections"),
)
def collect_restore_testing(ctx: CollectorContext) -> None:
    """AWS Backup restore testing plans (schedule, last run) and what each one tests: a plan without selections
    restores nothing."""
    plans = ctx.paginate(
        "backup.ListRestoreTestingPlans", kind="backup.restore_testing_plan", result_key="RestoreTestingPlans"
    )
    if plans is None:
        return
    for plan in plans:
        arn, name = plan["RestoreTestingPlanArn"], plan["RestoreTestingPlanName"]
        common: dict[str, Any] = {"resource_type": "restore-testing-plan", "resource_id": arn, "tag_arn": arn}
        ctx.record(kind="backup.restore_testing_plan", payload=plan, **common)
        selections = ctx.paginate(
            "backup.ListRestoreTestingSelections",
            kind="backup.restore_testing_selections",
            result_key="RestoreTestingSelections",
            resource_id=arn,
            RestoreTestingPlanName=name,
        )
        if selections is not None:
            ctx.record(
                kind="backup.restore_testing_selections",
                payload={"RestoreTestingPlanName": name, "RestoreTestingSelections": selections},
                **common,
            )
    ctx.listing(
        kind="backup.restore_testing_plan",
        call="backup.ListRestoreTestingPlans",
        resource_ids=[p["RestoreTestingPlanArn"] for p in plans],
    )


@collector(
    "dynamodb",
    produces=("dynamodb.continuous_backups", "dynamodb.table", "dynamodb.table_tags"),
    domain="backup",
    scope=Scope.REGIONAL,
    calls=("dynamodb.ListTables", "dynamodb.DescribeContinuousBackups", "dynamodb.ListTagsOfResource"),
)
def collect_dynamodb(ctx: CollectorContext) -> None:
    """DynamoDB tables (their listing is the inventory's count), each table's point-in-time recovery state and
    its tags (classification), which no list call returns."""
    tables = ctx.paginate("dynamodb.ListTables", kind="dynamodb.table", result_key="TableNames")
    if tables is None:
        return
    arn = f"arn:aws:dynamodb:{ctx.region}:{ctx.account_id}:table/{{}}"
    ctx.listing(kind="dynamodb.table", call="dynamodb.ListTables", resource_ids=[arn.format(n) for n in tables])
    for name in tables:
        table_arn = arn.format(name)
        backups = ctx.call(
            "dynamodb.DescribeContinuousBackups",
            kind="dynamodb.continuous_backups",
            resource_id=table_arn,
            TableName=name,
        )
        if backups is not None:
            ctx.record(
                kind="dynamodb.continuous_backups",
                resource_type="table",
                resource_id=table_arn,
                payload={"TableName": name, **backups},
                tag_arn=table_arn,
            )
        tags = ctx.paginate(
            "dynamodb.ListTagsOfResource",
            kind="dynamodb.table_tags",
            result_key="Tags",
            resource_id=table_arn,
            ResourceArn=table_arn,
        )
        if tags is not None:
            ctx.record(
                kind="dynamodb.table_tags",
                resource_type="table",
                resource_id=table_arn,
                payload={"TableName": name, "Tags": tags},
                tags=tags,
            )
