"""The efs.* checks: EFS file systems are encrypted at rest and backed up by AWS Backup (metadata in efs.yaml)."""

from __future__ import annotations

from evidence.checks._selections import selects
from evidence.checks.types import Finding
from evidence.checks.unit import Check, each
from evidence.owners import tag_dict
from evidence.store import EvidenceRecord

FILE_SYSTEM = "efs.file_system"
BACKUP_POLICY = "efs.backup_policy"
PLAN = "backup.plan"
SELECTIONS = "backup.selections"
NO_FILE_SYSTEMS = "no EFS file systems in this region"


@each(FILE_SYSTEM, resource_type="file-system", what="file system details", empty=NO_FILE_SYSTEMS)
def encrypted_at_rest(c: Check, file_system: EvidenceRecord) -> Finding:
    if file_system.payload.get("Encrypted") is True:
        key = file_system.payload.get("KmsKeyId")
        return c.passed(file_system, f"encrypted at rest with KMS key {key}" if key else "encrypted at rest")
    return c.failed(
        file_system, "not encrypted at rest (EFS encryption can only be chosen when a file system is created)"
    )


@each(
    FILE_SYSTEM,
    resource_type="file-system",
    what="file system details",
    reads=(BACKUP_POLICY, PLAN, SELECTIONS),
    empty=NO_FILE_SYSTEMS,
)
def in_backup_plan(c: Check, file_system: EvidenceRecord) -> Finding:
    policy = c.need(BACKUP_POLICY, base=file_system, what="file system backup policy")
    status = (policy.payload.get("BackupPolicy") or {}).get("Status")
    if status == "ENABLED":
        return c.passed(file_system, "automatic backups are on (AWS Backup's default plan)", also=[policy])
    plans = c.listing(
        PLAN,
        file_system.account_id,
        file_system.region,
        resource_id=file_system.resource_id,
        resource_type="file-system",
        what="listing of AWS Backup plans",
    )
    arn, tags = file_system.resource_id, tag_dict(file_system.payload.get("Tags"))
    basis = [file_system, policy, plans]
    missing: list[Finding] = []
    for plan_arn in plans.payload.get("resource_ids", []):
        # Keyed by the plan, but a plan whose selections are missing is an error about this file system.
        selections = c.attempt(
            missing, c.need, SELECTIONS, base=file_system, key=plan_arn, what="backup plan selections"
        )
        if selections is None:
            continue
        basis.append(selections)
        for selection in selections.payload.get("Selections") or []:
            document = selection.get("BackupSelection") or {}
            if selects(document, arn, tags):
                name = document.get("SelectionName") or selection.get("SelectionId")
                return c.passed(file_system, f"selected by backup plan {plan_arn} (selection {name})", also=basis)
    if missing:  # decisive only now: no plan that was read covers it, and one not read might
        reason = "cannot decide: no backup plan read selects it, and the selections of another were not read"
        where = {"account_id": file_system.account_id, "region": file_system.region}
        return c.incomplete(reason, missing, basis=basis, resource_id=arn, resource_type="file-system", **where)
    backups = "automatic backups are off" if status is None else f"automatic backups are {str(status).lower()}"
    return c.failed(file_system, f"no AWS Backup plan in the region selects it and {backups}", also=basis)
