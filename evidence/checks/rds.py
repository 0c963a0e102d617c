"""The rds.* checks: RDS DB instances' backups, encryption, exposure, upgrades, availability and TLS (metadata in
rds.yaml)."""

from __future__ import annotations

from evidence.checks.types import Finding
from evidence.checks.unit import Check, each
from evidence.store import EvidenceRecord

DB_INSTANCE, PARAMETER_GROUP = "rds.db_instance", "rds.parameter_group"

instances = each(DB_INSTANCE, resource_type="db-instance", what="DB instance details")


@instances
def backup_retention(c: Check, db: EvidenceRecord) -> Finding:
    minimum = c.thresholds.rds_backup_retention_min_days
    days = db.payload.get("BackupRetentionPeriod") or 0
    if days >= minimum:
        return c.passed(db, f"automated backups are kept for {days} days")
    return c.failed(db, f"automated backups are kept for {days} days (minimum {minimum})")


@instances
def storage_encrypted(c: Check, db: EvidenceRecord) -> Finding:
    if db.payload.get("StorageEncrypted") is True:
        return c.passed(db, "storage is encrypted")
    return c.failed(db, "storage is not encrypted")


@instances
def not_publicly_accessible(c: Check, db: EvidenceRecord) -> Finding:
    if db.payload.get("PubliclyAccessible") is True:
        return c.failed(db, "the instance has a public endpoint")
    return c.passed(db, "the instance is not publicly accessible")


@instances
def auto_minor_version_upgrade(c: Check, db: EvidenceRecord) -> Finding:
    if db.payload.get("AutoMinorVersionUpgrade") is True:
        return c.passed(db, "minor engine upgrades are applied automatically")
    return c.failed(db, "auto minor version upgrade is off")


def _aurora(db: EvidenceRecord) -> bool:
    return str(db.payload.get("Engine", "")).startswith("aurora")


@instances
def multi_az(c: Check, db: EvidenceRecord) -> Finding:
    if _aurora(db):
        # An Aurora instance's MultiAZ flag is always false: availability comes from replicas in the cluster.
        return c.error(
            db, "cannot decide from the DB instance: Aurora availability is a property of its DB cluster's replicas"
        )
    if db.payload.get("MultiAZ") is True:
        return c.passed(db, "a synchronous standby runs in another Availability Zone")
    return c.failed(db, "single-AZ: no standby in another Availability Zone")


@instances
def deletion_protection(c: Check, db: EvidenceRecord) -> Finding:
    if _aurora(db):
        return c.not_applicable(db, "Aurora deletion protection is set on the DB cluster")
    if db.payload.get("DeletionProtection") is True:
        return c.passed(db, "deletion protection is on")
    return c.failed(db, "deletion protection is off")


@instances
def storage_autoscaling(c: Check, db: EvidenceRecord) -> Finding:
    if _aurora(db):
        return c.not_applicable(db, "Aurora cluster storage grows automatically")
    allocated, ceiling = db.payload.get("AllocatedStorage") or 0, db.payload.get("MaxAllocatedStorage")
    if isinstance(ceiling, int) and ceiling > allocated:
        return c.passed(db, f"storage grows automatically from {allocated} up to {ceiling} GiB")
    return c.failed(db, f"storage is fixed at {allocated} GiB (no autoscaling ceiling)")


# Engine -> the parameter that, set to one of the values, makes the server refuse connections without TLS.
TLS_PARAMETERS: dict[str, tuple[str, frozenset[str]]] = {
    "postgres": ("rds.force_ssl", frozenset({"1"})),
    "sqlserver": ("rds.force_ssl", frozenset({"1"})),
    "mysql": ("require_secure_transport", frozenset({"1", "ON", "on"})),
    "mariadb": ("require_secure_transport", frozenset({"1", "ON", "on"})),
}


def _engine_family(engine: str) -> str:
    return "sqlserver" if engine.startswith("sqlserver") else engine


@each(DB_INSTANCE, resource_type="db-instance", what="DB instance details", reads=(PARAMETER_GROUP,))
def tls_required(c: Check, db: EvidenceRecord) -> Finding:
    engine = str(db.payload.get("Engine", ""))
    rule = TLS_PARAMETERS.get(_engine_family(engine))
    if rule is None:
        where = "its DB cluster parameter group" if engine.startswith("aurora") else "its option group"
        return c.error(db, f"cannot decide: {engine} sets TLS in {where}, which is not read")
    name, required = rule
    groups = [g.get("DBParameterGroupName") for g in db.payload.get("DBParameterGroups") or []]
    if not groups:
        return c.error(db, "cannot decide: the instance names no parameter group")
    group = c.need(
        PARAMETER_GROUP,
        base=db,
        key=f"arn:aws:rds:{db.region}:{db.account_id}:pg:{groups[0]}",
        resource_type="db-instance",
        what=f"parameter group {groups[0]}",
    )
    value = next(
        (p.get("ParameterValue") for p in group.payload.get("Parameters", []) if p.get("ParameterName") == name),
        None,
    )
    if value in required:
        return c.passed(db, f"{name}={value} in {groups[0]}: connections must use TLS", also=[group])
    shown = f"{name}={value}" if value is not None else f"{name} is not set"
    return c.failed(db, f"{shown} in {groups[0]}: unencrypted connections are accepted", also=[group])
