"""The rds.* checks: RDS DB instances' backups and log exports, manual snapshots' sharing (metadata in rds.yaml)."""

from __future__ import annotations

from collections.abc import Iterator

from evidence.checks.support import need_about, nothing_listed
from evidence.checks.types import Finding
from evidence.checks.unit import Check, custom, each
from evidence.store import EvidenceRecord

DB_INSTANCE = "rds.db_instance"


@each(DB_INSTANCE, resource_type="db-instance", what="DB instance details")
def backup_retention(c: Check, db: EvidenceRecord) -> Finding:
    minimum = c.thresholds.rds_backup_retention_min_days
    days = db.payload.get("BackupRetentionPeriod") or 0
    if days >= minimum:
        return c.passed(db, f"automated backups are kept for {days} days")
    return c.failed(db, f"automated backups are kept for {days} days (minimum {minimum})")


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
        cluster = need_about(
            c, DB_CLUSTER, base=db, resource_id=_cluster_arn(db, cluster_id), what="DB cluster details"
        )
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
        yield from nothing_listed(c, kind, "no manual snapshots here")
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
