"""RDS: DB subnet groups, parameter groups that refuse unencrypted connections, and DB instances (encryption,
public access, backups, Multi-AZ, deletion protection, storage autoscaling, minor version upgrades, log exports)
with their manual snapshots (private, or restorable by any AWS account); Aurora DB clusters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from auditpack.estate.target import Spec, Target, classified, owner_tags

# How each engine is told to refuse unencrypted connections (the rds.tls_required check reads these).
TLS_PARAMETERS = {
    "postgres": ("postgres16", "rds.force_ssl", "1"),
    "mysql": ("mysql8.0", "require_secure_transport", "ON"),
}


class DbSnapshot(Spec):
    name: str
    public: bool = False  # restorable by any AWS account (its restore attribute holds "all")


class Database(Spec):
    id: str
    engine: Literal["postgres", "mysql"]
    security_group: str | None = None  # name of a group of the VPC it is planted in; None: no VPC placement
    instance_class: str = "db.m6g.large"
    storage_gb: int = 100
    storage_encrypted: bool = True
    kms_key: str | None = None  # alias of a key of the same region
    public: bool = False
    backup_retention_days: int = 7
    auto_minor_version_upgrade: bool = True
    multi_az: bool = True
    deletion_protection: bool = True
    max_storage_gb: int | None = 500  # storage autoscaling up to this; None: off
    tls_required: bool = True  # a parameter group that refuses unencrypted connections
    owner: str | None = None
    classification: str | None = None
    log_exports: tuple[str, ...] = ()  # log types exported to CloudWatch Logs, e.g. ("postgresql",)
    snapshots: tuple[DbSnapshot, ...] = ()  # manual snapshots taken once it exists


def plant_subnet_group(target: Target, name: str, subnets: Sequence[str], *, description: str) -> str:
    target.client("rds").create_db_subnet_group(
        DBSubnetGroupName=name, DBSubnetGroupDescription=description, SubnetIds=list(subnets)
    )
    return name


def plant_tls_parameter_group(target: Target, name: str, engine: str) -> str:
    """A parameter group refusing unencrypted connections, unless one of that name exists; its name."""
    rds = target.client("rds")
    family, parameter, value = TLS_PARAMETERS[engine]
    existing = rds.describe_db_parameter_groups()["DBParameterGroups"]
    if name not in {group["DBParameterGroupName"] for group in existing}:
        rds.create_db_parameter_group(
            DBParameterGroupName=name, DBParameterGroupFamily=family, Description="Encrypted connections only"
        )
        rds.modify_db_parameter_group(
            DBParameterGroupName=name,
            Parameters=[{"ParameterName": parameter, "ParameterValue": value, "ApplyMethod": "pending-reboot"}],
        )
    return name


def plant_database(
    target: Target,
    database: Database,
    *,
    username: str,
    password: str,
    parameter_group: str | None = None,
    subnet_group: str | None = None,
    security_group_id: str | None = None,
    kms_key_arn: str | None = None,
) -> None:
    """The DB instance. `parameter_group` (see `plant_tls_parameter_group`) when `tls_required`; `kms_key_arn`
    resolves `kms_key`."""
    if database.tls_required and parameter_group is None:
        raise ValueError(f"database {database.id} requires TLS: give its parameter group")
    target.client("rds").create_db_instance(
        DBInstanceIdentifier=database.id,
        Engine=database.engine,
        DBInstanceClass=database.instance_class,
        MasterUsername=username,
        MasterUserPassword=password,
        AllocatedStorage=database.storage_gb,
        StorageEncrypted=database.storage_encrypted,
        **({"KmsKeyId": kms_key_arn} if kms_key_arn else {}),
        **({"MaxAllocatedStorage": database.max_storage_gb} if database.max_storage_gb else {}),
        **({"DBParameterGroupName": parameter_group} if database.tls_required else {}),
        PubliclyAccessible=database.public,
        BackupRetentionPeriod=database.backup_retention_days,
        AutoMinorVersionUpgrade=database.auto_minor_version_upgrade,
        MultiAZ=database.multi_az,
        DeletionProtection=database.deletion_protection,
        **({"DBSubnetGroupName": subnet_group} if subnet_group else {}),
        **({"VpcSecurityGroupIds": [security_group_id]} if security_group_id else {}),
        Tags=owner_tags(database.owner, **classified(database.classification)),
        **({"EnableCloudwatchLogsExports": list(database.log_exports)} if database.log_exports else {}),
    )
    target.count("RDS instances")
    for snapshot in database.snapshots:
        plant_db_snapshot(target, database.id, snapshot)


def plant_db_snapshot(target: Target, database_id: str, snapshot: DbSnapshot) -> str:
    """A manual snapshot of the DB instance, made public when asked; its ARN."""
    rds = target.client("rds")
    arn = rds.create_db_snapshot(DBInstanceIdentifier=database_id, DBSnapshotIdentifier=snapshot.name)["DBSnapshot"][
        "DBSnapshotArn"
    ]
    if snapshot.public:
        rds.modify_db_snapshot_attribute(
            DBSnapshotIdentifier=snapshot.name, AttributeName="restore", ValuesToAdd=["all"]
        )
    target.count("RDS snapshots")
    return str(arn)


class Cluster(Spec):
    """An Aurora DB cluster (without instances: what the cluster-level checks read is set on the cluster)."""

    id: str
    engine: Literal["aurora-postgresql", "aurora-mysql"] = "aurora-postgresql"
    storage_encrypted: bool = True
    log_exports: tuple[str, ...] = ()
    snapshots: tuple[DbSnapshot, ...] = ()  # manual cluster snapshots


def plant_db_cluster(target: Target, cluster: Cluster, *, username: str, password: str) -> str:
    """The DB cluster and its manual snapshots; its ARN."""
    rds = target.client("rds")
    arn = rds.create_db_cluster(
        DBClusterIdentifier=cluster.id,
        Engine=cluster.engine,
        MasterUsername=username,
        MasterUserPassword=password,
        StorageEncrypted=cluster.storage_encrypted,
        **({"EnableCloudwatchLogsExports": list(cluster.log_exports)} if cluster.log_exports else {}),
    )["DBCluster"]["DBClusterArn"]
    target.count("RDS clusters")
    for snapshot in cluster.snapshots:
        rds.create_db_cluster_snapshot(DBClusterIdentifier=cluster.id, DBClusterSnapshotIdentifier=snapshot.name)
        if snapshot.public:
            rds.modify_db_cluster_snapshot_attribute(
                DBClusterSnapshotIdentifier=snapshot.name, AttributeName="restore", ValuesToAdd=["all"]
            )
        target.count("RDS snapshots")
    return str(arn)
