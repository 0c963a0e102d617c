"""The backup.* checks: restores from AWS Backup are tested, not just backups taken (metadata in backup.yaml)."""

from __future__ import annotations

from evidence.checks.types import Finding
from evidence.checks.unit import Check, Unavailable, per_region
from evidence.checks.verdicts import gap_error, missing_error, setting_id
from evidence.store import EvidenceRecord

PLAN = "backup.plan"
RESTORE_PLAN = "backup.restore_testing_plan"
RESTORE_SELECTIONS = "backup.restore_testing_selections"


def _where(account_id: str, region: str) -> dict[str, str]:
    """Findings are about the region's restore testing, an account-and-region setting."""
    return {"resource_id": setting_id(account_id, region, "backup-restore-testing"), "resource_type": "restore-testing"}


def _missing(c: Check, kind: str, account_id: str, region: str, what: str, *, resource_id: str | None) -> Finding:
    """The error standing in for evidence of `kind` (a listing when resource_id is None)."""
    gaps = c.view.gaps(kind, account_id=account_id, region=region, resource_id=resource_id)
    gaps = gaps or c.view.collector_gaps(account_id, region)
    if gaps:
        return gap_error(c.id, gaps[0], account_id=account_id, region=region, **_where(account_id, region))
    return missing_error(c.id, account_id=account_id, region=region, what=what, **_where(account_id, region))


def _listing(c: Check, kind: str, account_id: str, region: str, what: str) -> EvidenceRecord:
    listing = c.view.listing(kind, account_id, region)
    if listing is None:
        raise Unavailable(_missing(c, kind, account_id, region, what, resource_id=None))
    return listing


@per_region(reads=(PLAN, RESTORE_PLAN, RESTORE_SELECTIONS))
def restore_testing_plan(c: Check, account_id: str, region: str) -> Finding:
    where = _where(account_id, region)
    backup_plans = _listing(c, PLAN, account_id, region, "listing of AWS Backup plans")
    if not backup_plans.payload.get("resource_ids"):
        reason = "no AWS Backup plan here, so no AWS Backup recovery point to test a restore of"
        return c.not_applicable(backup_plans, reason, **where)
    restore_plans = _listing(c, RESTORE_PLAN, account_id, region, "listing of restore testing plans")
    unread: Finding | None = None
    for arn in restore_plans.payload.get("resource_ids", []):
        plan = c.view.one(RESTORE_PLAN, account_id, arn)
        selections = c.view.one(RESTORE_SELECTIONS, account_id, arn)
        if plan is None or selections is None:
            kind = RESTORE_SELECTIONS if plan else RESTORE_PLAN
            # Decisive only if no plan that was read tests a restore: this one might have.
            unread = unread or _missing(c, kind, account_id, region, "restore testing selections", resource_id=arn)
            continue
        tested = {str(s.get("ProtectedResourceType")) for s in selections.payload.get("RestoreTestingSelections") or []}
        if tested:
            name, schedule = plan.payload.get("RestoreTestingPlanName"), plan.payload.get("ScheduleExpression")
            last = plan.payload.get("LastExecutionTime")
            ran = f", last run {last}" if last else ", not run yet"
            reason = f"restore testing plan {name} tests restores of {', '.join(sorted(tested))} on {schedule}{ran}"
            return c.passed(plan, reason, also=[backup_plans, restore_plans, selections], **where)
    if unread is not None:
        return unread
    if restore_plans.payload.get("resource_ids"):
        reason = "no restore testing plan here selects anything: none tests a restore"
    else:
        reason = "backups are taken here but no restore testing plan tests that they can be restored"
    return c.failed(restore_plans, reason, also=[backup_plans], **where)
