"""The rds.* checks: RDS DB instances' backups, encryption, exposure, upgrades, availability, TLS and log exports,
and manual snapshots' sharing (metadata in rds.yaml)."""

from __future__ import annotations

from collections.abc import Iterator

from evidence.checks.types import Finding
from evidence.checks.unit import Check, custom, each
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


# -- log exports ------------------------------------------------------------------------------------------------------

DB_CLUSTER = "rds.db_cluster"
# The log types each engine must export to CloudWatch Logs: its audit log where the engine has one, and its error
# log (PostgreSQL writes both, pgAudit included, to the one `postgresql` log). Longest prefix first.
REQUIRED_LOG_EXPORTS: tuple[tuple[str, frozenset[str]], ...] = (
    ("aurora-postgresql", frozenset({"postgresql"})),
    ("aurora-mysql", frozenset({"audit", "error"})),
    ("aurora", frozenset({"audit", "error"})),  # Aurora MySQL 5.6's engine name
    ("postgres", frozenset({"postgresql"})),
    ("mysql", frozenset({"audit", "error"})),
    ("mariadb", frozenset({"audit", "error"})),
    ("oracle", frozenset({"audit", "alert"})),
    ("sqlserver", frozenset({"error"})),  # SQL Server Audit writes to S3, not to an exportable log
    ("db2", frozenset({"diag.log"})),
    ("docdb", frozenset({"audit"})),
    ("neptune", frozenset({"audit"})),
)


def required_log_exports(engine: str) -> frozenset[str] | None:
    """The log types `engine` must export, or None for an engine we hold no rule for."""
    return next((logs for prefix, logs in REQUIRED_LOG_EXPORTS if engine.startswith(prefix)), None)


def _cluster_arn(db: EvidenceRecord, cluster_id: str) -> str:
    prefix = db.resource_id.split(":db:", 1)[0]  # arn:PARTITION:rds:REGION:ACCOUNT
    return f"{prefix}:cluster:{cluster_id}"


@each(DB_INSTANCE, resource_type="db-instance", what="DB instance details", reads=(DB_CLUSTER,))
def log_exports_enabled(c: Check, db: EvidenceRecord) -> Finding:
    engine = str(db.payload.get("Engine") or "")
    cluster_id = db.payload.get("DBClusterIdentifier")
    also: list[EvidenceRecord] = []
    if cluster_id:  # Aurora and Multi-AZ DB clusters export logs as a cluster: the instance shows nothing
        cluster = c.need(DB_CLUSTER, base=db, key=_cluster_arn(db, cluster_id), what="DB cluster details")
        also.append(cluster)
        exported = set(cluster.payload.get("EnabledCloudwatchLogsExports") or [])
        where = f"its DB cluster {cluster_id}"
    else:
        exported = set(db.payload.get("EnabledCloudwatchLogsExports") or [])
        where = "the instance"
    if not exported:
        return c.failed(db, f"{where} exports no logs to CloudWatch Logs", also=also)
    listed = ", ".join(sorted(exported))
    required = required_log_exports(engine)
    if required is None:
        return c.passed(db, f"{where} exports {listed} (no required log types known for engine {engine})", also=also)
    missing = sorted(required - exported)
    if missing:
        return c.failed(db, f"{where} exports {listed} but not {', '.join(missing)} ({engine})", also=also)
    return c.passed(db, f"{where} exports {listed} to CloudWatch Logs", also=also)


# -- snapshots --------------------------------------------------------------------------------------------------------

SNAPSHOT_KINDS = (
    ("rds.db_snapshot", "rds.db_snapshot_attributes", "DBSnapshotAttributesResult", "DBSnapshotAttributes"),
    (
        "rds.db_cluster_snapshot",
        "rds.db_cluster_snapshot_attributes",
        "DBClusterSnapshotAttributesResult",
        "DBClusterSnapshotAttributes",
    ),
)


@custom(kinds=[kind for kinds in SNAPSHOT_KINDS for kind in kinds[:2]], regional=True)
def snapshots_not_public(c: Check) -> Iterator[Finding]:
    for kind, attributes_kind, result_key, list_key in SNAPSHOT_KINDS:
        resource_type = "db-snapshot" if kind == "rds.db_snapshot" else "db-cluster-snapshot"
        for listing in c.view.listings(kind):  # complete listings that found nothing: applied, nothing to judge
            if not listing.payload.get("resource_ids"):
                yield c.not_applicable(listing, "no manual snapshots here", resource_type=kind)
        for snapshot in c.records(kind, resource_type=resource_type, what="snapshot details"):
            with c.item():
                attributes = c.need(attributes_kind, base=snapshot, what="snapshot attributes")
                entries = (attributes.payload.get(result_key) or {}).get(list_key) or []
                restore = [
                    v for e in entries if e.get("AttributeName") == "restore" for v in e.get("AttributeValues") or []
                ]
                if "all" in restore:
                    yield c.failed(snapshot, "public: any AWS account may restore it", also=[attributes])
                elif restore:
                    yield c.passed(
                        snapshot, f"not public; shared with account(s) {', '.join(sorted(restore))}", also=[attributes]
                    )
                else:
                    yield c.passed(snapshot, "not shared with any other account", also=[attributes])
