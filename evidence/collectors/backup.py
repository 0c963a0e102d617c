"""Backup: AWS Backup plans (rules, lifecycle) and what they select. (RDS automated backup retention comes from
the RDS read in `encryption`.)"""

from __future__ import annotations

from evidence.collectors.context import CollectorContext
from evidence.collectors.registry import Scope, collector


@collector(
    "backup_plans",
    produces=("backup.plan", "backup.selections"),
    domain="backup",
    scope=Scope.REGIONAL,
    calls=("backup.ListBackupPlans", "backup.GetBackupPlan", "backup.ListBackupSelections"),
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
        selections = ctx.paginate(
            "backup.ListBackupSelections",
            kind="backup.selections",
            result_key="BackupSelectionsList",
            resource_id=arn,
            BackupPlanId=plan_id,
        )
        if selections is not None:
            ctx.record(
                kind="backup.selections",
                resource_type="backup-plan",
                resource_id=arn,
                payload={"BackupPlanId": plan_id, "BackupSelectionsList": selections},
                tag_arn=arn,
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
