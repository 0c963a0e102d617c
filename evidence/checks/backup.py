"""Backup checks: RDS automated backup retention."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from evidence.checks.registry import check
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import Finding
from evidence.checks.verdicts import FAIL, PASS, listed_records, verdict
from evidence.checks.view import EvidenceView


@check("rds.backup_retention", kinds=("rds.db_instance",), regional=True)
def backup_retention(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "rds.backup_retention"
    minimum = thresholds.rds_backup_retention_min_days
    for db in listed_records(
        view, check_id, "rds.db_instance", resource_type="db-instance", what="DB instance details"
    ):
        if isinstance(db, Finding):
            yield db
            continue
        days = db.payload.get("BackupRetentionPeriod") or 0
        if days >= minimum:
            yield verdict(check_id, PASS, db, f"automated backups are kept for {days} days")
        else:
            yield verdict(check_id, FAIL, db, f"automated backups are kept for {days} days (minimum {minimum})")
