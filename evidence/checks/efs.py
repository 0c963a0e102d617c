"""The efs.* checks: EFS file systems are encrypted at rest and backed up by AWS Backup (metadata in efs.yaml)."""

from __future__ import annotations

from dataclasses import replace

from evidence.checks._selections import selects
from evidence.checks.types import Finding
from evidence.checks.unit import Check, Unavailable, each
from evidence.checks.verdicts import gap_error, missing_error
from evidence.owners import tag_dict
from evidence.store import EvidenceRecord

FILE_SYSTEM = "efs.file_system"
BACKUP_POLICY = "efs.backup_policy"
PLAN = "backup.plan"
SELECTIONS = "backup.selections"


@each(FILE_SYSTEM, resource_type="file-system", what="file system details")
def encrypted_at_rest(c: Check, file_system: EvidenceRecord) -> Finding:
    if file_system.payload.get("Encrypted") is True:
        key = file_system.payload.get("KmsKeyId")
        return c.passed(file_system, f"encrypted at rest with KMS key {key}" if key else "encrypted at rest")
    return c.failed(
        file_system, "not encrypted at rest (EFS encryption can only be chosen when a file system is created)"
    )


def _plans(c: Check, file_system: EvidenceRecord) -> EvidenceRecord:
    """The completed listing of backup plans in the file system's account and region, else Unavailable."""
    account_id, region = file_system.account_id, file_system.region
    listing = c.view.listing(PLAN, account_id, region)
    if listing is not None:
        return listing
    where = {"resource_id": file_system.resource_id, "resource_type": "file-system", "region": region}
    gaps = c.view.gaps(PLAN, account_id=account_id, region=region, resource_id=None)
    gaps = gaps or c.view.collector_gaps(account_id, region)
    if gaps:
        raise Unavailable(gap_error(c.id, gaps[0], account_id=account_id, owner=file_system.owner, **where))
    what = "listing of AWS Backup plans"
    raise Unavailable(missing_error(c.id, account_id=account_id, what=what, owner=file_system.owner, **where))


def _selections(c: Check, file_system: EvidenceRecord, plan_arn: str) -> EvidenceRecord:
    """A plan's selections, else Unavailable as an error about the file system judged (not about the plan: every
    file system the missing plan might cover needs its own error)."""
    try:
        return c.need(SELECTIONS, base=file_system, resource_id=plan_arn, what="backup plan selections")
    except Unavailable as missing:
        raise Unavailable(replace(missing.finding, resource_id=file_system.resource_id)) from None


@each(FILE_SYSTEM, resource_type="file-system", what="file system details", reads=(BACKUP_POLICY, PLAN, SELECTIONS))
def in_backup_plan(c: Check, file_system: EvidenceRecord) -> Finding:
    policy = c.need(BACKUP_POLICY, base=file_system, what="file system backup policy")
    status = (policy.payload.get("BackupPolicy") or {}).get("Status")
    if status == "ENABLED":
        return c.passed(file_system, "automatic backups are on (AWS Backup's default plan)", also=[policy])
    plans = _plans(c, file_system)
    arn, tags = file_system.resource_id, tag_dict(file_system.payload.get("Tags"))
    basis = [policy, plans]
    missing: Unavailable | None = None
    for plan_arn in plans.payload.get("resource_ids", []):
        try:
            selections = _selections(c, file_system, plan_arn)
        except Unavailable as unread:
            missing = missing or unread  # decisive only if no plan that was read covers the file system
            continue
        basis.append(selections)
        for selection in selections.payload.get("Selections") or []:
            document = selection.get("BackupSelection") or {}
            if selects(document, arn, tags):
                name = document.get("SelectionName") or selection.get("SelectionId")
                return c.passed(file_system, f"selected by backup plan {plan_arn} (selection {name})", also=basis)
    if missing is not None:
        raise missing
    backups = "automatic backups are off" if status is None else f"automatic backups are {str(status).lower()}"
    return c.failed(file_system, f"no AWS Backup plan in the region selects it and {backups}", also=basis)
