"""The backup.* checks: restores from AWS Backup are tested, not just backups taken (metadata in backup.yaml)."""

from __future__ import annotations

from evidence.checks.types import Finding
from evidence.checks.unit import Check, per_region
from evidence.checks.verdicts import setting_id

PLAN = "backup.plan"
RESTORE_PLAN = "backup.restore_testing_plan"
RESTORE_SELECTIONS = "backup.restore_testing_selections"


@per_region(reads=(PLAN, RESTORE_PLAN, RESTORE_SELECTIONS))
def restore_testing_plan(c: Check, account_id: str, region: str) -> Finding:
    # Findings are about the region's restore testing, an account-and-region setting.
    where = {
        "resource_id": setting_id(account_id, region, "backup-restore-testing"),
        "resource_type": "restore-testing",
    }
    backup_plans = c.listing(PLAN, account_id, region, what="listing of AWS Backup plans", **where)
    if not backup_plans.payload.get("resource_ids"):
        reason = "no AWS Backup plan here, so no AWS Backup recovery point to test a restore of"
        return c.not_applicable(backup_plans, reason, **where)
    restore_plans = c.listing(RESTORE_PLAN, account_id, region, what="listing of restore testing plans", **where)
    missing: list[Finding] = []
    for arn in restore_plans.payload.get("resource_ids", []):
        plan = c.attempt(
            missing, c.need, RESTORE_PLAN, base=restore_plans, key=arn, what="restore testing plan", **where
        )
        selections = c.attempt(
            missing, c.need, RESTORE_SELECTIONS, base=restore_plans, key=arn, what="restore testing selections", **where
        )
        if plan is None or selections is None:
            continue
        tested = {str(s.get("ProtectedResourceType")) for s in selections.payload.get("RestoreTestingSelections") or []}
        if tested:
            name, schedule = plan.payload.get("RestoreTestingPlanName"), plan.payload.get("ScheduleExpression")
            last = plan.payload.get("LastExecutionTime")
            ran = f", last run {last}" if last else ", not run yet"
            reason = f"restore testing plan {name} tests restores of {', '.join(sorted(tested))} on {schedule}{ran}"
            return c.passed(plan, reason, also=[backup_plans, restore_plans, selections], **where)
    if missing:  # decisive only now: no plan that was read tests a restore, and one not read might
        reason = "cannot decide: no restore testing plan read tests a restore, and another was not read"
        basis = [backup_plans, restore_plans]
        return c.incomplete(reason, missing, basis=basis, account_id=account_id, region=region, **where)
    if restore_plans.payload.get("resource_ids"):
        reason = "no restore testing plan here selects anything: none tests a restore"
    else:
        reason = "backups are taken here but no restore testing plan tests that they can be restored"
    return c.failed(restore_plans, reason, also=[backup_plans], **where)
