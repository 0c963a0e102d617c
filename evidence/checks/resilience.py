"""Resilience checks: RDS Multi-AZ, deletion protection and storage autoscaling, DynamoDB point-in-time
recovery, S3 versioning."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from evidence.checks.encryption import BUCKET, _bucket_evidence, _buckets
from evidence.checks.registry import check
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import Finding
from evidence.checks.verdicts import ERROR, FAIL, NA, PASS, coverage_errors, listed_records, needed, verdict
from evidence.checks.view import EvidenceView
from evidence.store import EvidenceRecord

DB = "rds.db_instance"


def _instances(view: EvidenceView, check_id: str) -> Iterator[EvidenceRecord | Finding]:
    return listed_records(view, check_id, DB, resource_type="db-instance", what="DB instance details")


def _aurora(db: EvidenceRecord) -> bool:
    return str(db.payload.get("Engine", "")).startswith("aurora")


def _undecided(check_id: str, db: EvidenceRecord, why: str) -> Finding:
    """`error`: the instance's evidence does not say; never guessed as a pass or a failure."""
    return verdict(check_id, ERROR, db, f"cannot decide from the DB instance: {why}")


@check("rds.multi_az", kinds=(DB,), regional=True)
def multi_az(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "rds.multi_az"
    for db in _instances(view, check_id):
        if isinstance(db, Finding):
            yield db
        elif _aurora(db):
            # An Aurora instance's MultiAZ flag is always false: availability comes from replicas in the cluster.
            yield _undecided(check_id, db, "Aurora availability is a property of its DB cluster's replicas")
        elif db.payload.get("MultiAZ") is True:
            yield verdict(check_id, PASS, db, "a synchronous standby runs in another Availability Zone")
        else:
            yield verdict(check_id, FAIL, db, "single-AZ: no standby in another Availability Zone")


@check("rds.deletion_protection", kinds=(DB,), regional=True)
def deletion_protection(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "rds.deletion_protection"
    for db in _instances(view, check_id):
        if isinstance(db, Finding):
            yield db
        elif _aurora(db):
            yield verdict(check_id, NA, db, "Aurora deletion protection is set on the DB cluster")
        elif db.payload.get("DeletionProtection") is True:
            yield verdict(check_id, PASS, db, "deletion protection is on")
        else:
            yield verdict(check_id, FAIL, db, "deletion protection is off")


@check("rds.storage_autoscaling", kinds=(DB,), regional=True)
def storage_autoscaling(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "rds.storage_autoscaling"
    for db in _instances(view, check_id):
        if isinstance(db, Finding):
            yield db
            continue
        if _aurora(db):
            yield verdict(check_id, NA, db, "Aurora cluster storage grows automatically")
            continue
        allocated, ceiling = db.payload.get("AllocatedStorage") or 0, db.payload.get("MaxAllocatedStorage")
        if isinstance(ceiling, int) and ceiling > allocated:
            yield verdict(check_id, PASS, db, f"storage grows automatically from {allocated} up to {ceiling} GiB")
        else:
            yield verdict(check_id, FAIL, db, f"storage is fixed at {allocated} GiB (no autoscaling ceiling)")


@check("dynamodb.pitr_enabled", kinds=("dynamodb.table", "dynamodb.continuous_backups"), regional=True)
def pitr_enabled(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "dynamodb.pitr_enabled"
    yield from coverage_errors(view, check_id, "dynamodb.table", regional=True, resource_type="table")
    for listed in view.listed("dynamodb.table"):
        state = needed(
            view,
            check_id,
            "dynamodb.continuous_backups",
            account_id=listed.account_id,
            resource_id=listed.resource_id,
            resource_type="table",
            region=listed.region,
            what="continuous backup state",
            base=listed.listing,
        )
        if isinstance(state, Finding):
            yield state
            continue
        description = state.payload.get("ContinuousBackupsDescription") or {}
        pitr = (description.get("PointInTimeRecoveryDescription") or {}).get("PointInTimeRecoveryStatus")
        if pitr == "ENABLED":
            days = (description.get("PointInTimeRecoveryDescription") or {}).get("RecoveryPeriodInDays")
            extent = f" ({days} days)" if days else ""
            yield verdict(check_id, PASS, state, f"point-in-time recovery is on{extent}", also=[listed.listing])
        else:
            yield verdict(
                check_id, FAIL, state, f"point-in-time recovery is {str(pitr or 'off').lower()}", also=[listed.listing]
            )


@check("s3.versioning_enabled", kinds=(BUCKET, "s3.bucket_versioning"), regional=False)
def versioning_enabled(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "s3.versioning_enabled"
    for bucket in _buckets(view, check_id):
        if isinstance(bucket, Finding):
            yield bucket
            continue
        record = _bucket_evidence(view, check_id, bucket, "s3.bucket_versioning", "bucket versioning state")
        if isinstance(record, Finding):
            yield record
        elif record.payload.get("Status") == "Enabled":
            mfa = " with MFA delete" if record.payload.get("MFADelete") == "Enabled" else ""
            yield verdict(check_id, PASS, bucket, f"versioning is enabled{mfa}", also=[record])
        else:
            state = f"is {record.payload['Status'].lower()}" if record.payload.get("Status") else "was never enabled"
            yield verdict(check_id, FAIL, bucket, f"versioning {state}", also=[record])
