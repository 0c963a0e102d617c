"""RDS: DB subnet groups, parameter groups that refuse unencrypted connections, and DB instances (encryption,
public access, backups, Multi-AZ, deletion protection, storage autoscaling, minor version upgrades)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from auditpack.estate.target import Spec, Target, classified, owner_tags

# How each engine is told to refuse unencrypted connections (the rds.tls_required check reads these).
TLS_PARAMETERS = {
    "postgres": ("postgres16", "rds.force_ssl", "1"),
    "mysql": ("mysql8.0", "require_secure_transport", "ON"),
}


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
    )
    target.count("RDS instances")
