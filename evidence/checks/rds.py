"""The rds.* checks: RDS DB instances' backups (metadata in rds.yaml)."""

from __future__ import annotations

from evidence.checks.types import Finding
from evidence.checks.unit import Check, each
from evidence.store import EvidenceRecord

DB_INSTANCE = "rds.db_instance"


@each(DB_INSTANCE, resource_type="db-instance", what="DB instance details")
def backup_retention(c: Check, db: EvidenceRecord) -> Finding:
    minimum = c.thresholds.rds_backup_retention_min_days
    days = db.payload.get("BackupRetentionPeriod") or 0
    if days >= minimum:
        return c.passed(db, f"automated backups are kept for {days} days")
    return c.failed(db, f"automated backups are kept for {days} days (minimum {minimum})")
