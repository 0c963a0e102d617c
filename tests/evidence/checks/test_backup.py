"""Backup checks on the scenario estate."""

from evidence.checks.evaluate import evaluate_run
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import FindingStatus
from tests.scenario import Collected


def test_rds_backup_retention(collected: Collected) -> None:
    assert collected.finding("rds.backup_retention", ":db:orders-db").status == FindingStatus.PASS
    short = collected.finding("rds.backup_retention", ":db:legacy-db")
    assert short.status == FindingStatus.FAIL and "1 days (minimum 7)" in short.reason
    assert collected.finding("rds.backup_retention", ":db:member-a-db").status == FindingStatus.PASS  # exactly 7


def test_retention_threshold_is_configurable(collected: Collected) -> None:
    findings = evaluate_run(collected.store, collected.run.id, thresholds=Thresholds(rds_backup_retention_min_days=10))
    member = next(f for f in findings if f.check_id == "rds.backup_retention" and f.resource_id.endswith("member-a-db"))
    assert member.status == FindingStatus.FAIL


def test_backup_plans_are_collected_as_evidence(collected: Collected) -> None:
    plans = list(collected.store.iter_evidence(collected.run.id, kinds=["backup.plan"]))
    assert [p.payload["BackupPlan"]["BackupPlanName"] for p in plans] == ["daily"]
    # moto does not implement ListBackupSelections: a gap, recorded with the plan it belongs to
    gaps = [g for g in collected.store.gaps(collected.run.id) if g.operation == "ListBackupSelections"]
    assert [g.resource_id for g in gaps] == [plans[0].resource_id]
