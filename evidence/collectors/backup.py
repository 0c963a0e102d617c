"""Backup: AWS Backup plans (rules, lifecycle) and what they select, restore testing plans, DynamoDB tables and
their point-in-time recovery, and the snapshots an account owns (manual RDS DB and cluster snapshots, EBS
snapshots) with whom each is shared. (RDS automated backup retention comes from the RDS read in `encryption`,
EFS automatic backups from the EFS read there.)"""

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
    calls=(
        "dynamodb.ListTables",
        "dynamodb.DescribeTable",
        "dynamodb.DescribeContinuousBackups",
        "dynamodb.ListTagsOfResource",
    ),
)
def collect_dynamodb(ctx: CollectorContext) -> None:
    """DynamoDB tables (their listing is the inventory's count), each table's description (its encryption key),
    point-in-time recovery state and tags (classification), which no list call returns."""
    tables = ctx.paginate("dynamodb.ListTables", kind="dynamodb.table", result_key="TableNames")
    if tables is None:
        return
    arn = f"arn:aws:dynamodb:{ctx.region}:{ctx.account_id}:table/{{}}"
    ctx.listing(kind="dynamodb.table", call="dynamodb.ListTables", resource_ids=[arn.format(n) for n in tables])
    for name in tables:
        table_arn = arn.format(name)
        described = ctx.call("dynamodb.DescribeTable", kind="dynamodb.table", resource_id=table_arn, TableName=name)
        if isinstance(described, dict):
            ctx.record(
                kind="dynamodb.table",
                resource_type="table",
                resource_id=table_arn,
                payload=described["Table"],
                tag_arn=table_arn,
            )
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


@collector(
    "rds_snapshots",
    produces=(
        "rds.db_snapshot",
        "rds.db_snapshot_attributes",
        "rds.db_cluster_snapshot",
        "rds.db_cluster_snapshot_attributes",
    ),
    domain="backup",
    scope=Scope.REGIONAL,
    calls=(
        "rds.DescribeDBSnapshots",
        "rds.DescribeDBSnapshotAttributes",
        "rds.DescribeDBClusterSnapshots",
        "rds.DescribeDBClusterSnapshotAttributes",
    ),
)
def collect_rds_snapshots(ctx: CollectorContext) -> None:
    """Manual DB and DB cluster snapshots (only manual ones can be shared) and each one's `restore` attribute:
    the accounts that may restore it, `all` when it is public. The attribute has no list call: one read each."""
    for kind, call, attributes_call, result_key, arn_key, id_key, resource_type in (
        (
            "rds.db_snapshot",
            "rds.DescribeDBSnapshots",
            "rds.DescribeDBSnapshotAttributes",
            "DBSnapshots",
            "DBSnapshotArn",
            "DBSnapshotIdentifier",
            "db-snapshot",
        ),
        (
            "rds.db_cluster_snapshot",
            "rds.DescribeDBClusterSnapshots",
            "rds.DescribeDBClusterSnapshotAttributes",
            "DBClusterSnapshots",
            "DBClusterSnapshotArn",
            "DBClusterSnapshotIdentifier",
            "db-cluster-snapshot",
        ),
    ):
        snapshots = ctx.paginate(call, kind=kind, result_key=result_key, SnapshotType="manual")
        if snapshots is None:
            continue
        ctx.listing(kind=kind, call=call, resource_ids=[s[arn_key] for s in snapshots])
        for snapshot in snapshots:
            common: dict[str, Any] = {
                "resource_type": resource_type,
                "resource_id": snapshot[arn_key],
                "tags": snapshot.get("TagList") or [],
            }
            ctx.record(kind=kind, payload=snapshot, **common)
            ctx.spawn(_snapshot_attributes, ctx, f"{kind}_attributes", attributes_call, id_key, snapshot, common)


def _snapshot_attributes(
    ctx: CollectorContext, kind: str, call: str, id_key: str, snapshot: dict[str, Any], common: dict[str, Any]
) -> None:
    answer = ctx.call(call, kind=kind, resource_id=common["resource_id"], **{id_key: snapshot[id_key]})
    if answer is not None:
        ctx.record(kind=kind, payload=answer, **common)


@collector(
    "ebs_snapshots",
    produces=("ec2.snapshot", "ec2.snapshot_create_volume_permission"),
    domain="backup",
    scope=Scope.REGIONAL,
    calls=("ec2.DescribeSnapshots", "ec2.DescribeSnapshotAttribute"),
)
def collect_ebs_snapshots(ctx: CollectorContext) -> None:
    """EBS snapshots the account owns (encryption from the listing) and each one's createVolumePermission: the
    accounts that may create a volume from it, group `all` when it is public. One attribute read per snapshot."""
    # OwnerIds=self and the owner-id filter say the same; the filter also holds where OwnerIds is not honoured
    # (moto), which would otherwise list every public snapshot there is.
    snapshots = ctx.paginate(
        "ec2.DescribeSnapshots",
        kind="ec2.snapshot",
        result_key="Snapshots",
        OwnerIds=["self"],
        Filters=[{"Name": "owner-id", "Values": [ctx.account_id]}],
    )
    if snapshots is None:
        return
    arn = f"arn:aws:ec2:{ctx.region}:{ctx.account_id}:snapshot/{{}}"
    ctx.listing(
        kind="ec2.snapshot", call="ec2.DescribeSnapshots", resource_ids=[arn.format(s["SnapshotId"]) for s in snapshots]
    )
    for snapshot in snapshots:
        common: dict[str, Any] = {
            "resource_type": "snapshot",
            "resource_id": arn.format(snapshot["SnapshotId"]),
            "tags": snapshot.get("Tags") or [],
        }
        ctx.record(kind="ec2.snapshot", payload=snapshot, **common)
        ctx.spawn(_create_volume_permission, ctx, snapshot["SnapshotId"], common)


def _create_volume_permission(ctx: CollectorContext, snapshot_id: str, common: dict[str, Any]) -> None:
    answer = ctx.call(
        "ec2.DescribeSnapshotAttribute",
        kind="ec2.snapshot_create_volume_permission",
        resource_id=common["resource_id"],
        SnapshotId=snapshot_id,
        Attribute="createVolumePermission",
    )
    if answer is not None:
        ctx.record(kind="ec2.snapshot_create_volume_permission", payload=answer, **common)
