"""AWS Backup: backup plans with one rule (schedule, retention) into the Default vault."""

from __future__ import annotations

from auditpack.estate.target import Spec, Target


class BackupPlan(Spec):
    name: str
    schedule: str  # a cron() expression
    retention_days: int | None = None  # None: kept forever


def plant_backup_plan(target: Target, plan: BackupPlan) -> str:
    rule = {"RuleName": plan.name, "TargetBackupVaultName": "Default", "ScheduleExpression": plan.schedule}
    if plan.retention_days is not None:
        rule["Lifecycle"] = {"DeleteAfterDays": plan.retention_days}
    answer = target.client("backup").create_backup_plan(BackupPlan={"BackupPlanName": plan.name, "Rules": [rule]})
    target.count("AWS Backup plans")
    return str(answer["BackupPlanId"])
