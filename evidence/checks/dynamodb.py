"""The dynamodb.* checks: point-in-time recovery of tables (metadata in dynamodb.yaml)."""

from __future__ import annotations

from collections.abc import Iterator

from evidence.checks.types import Finding
from evidence.checks.unit import Check, custom

TABLE, CONTINUOUS_BACKUPS = "dynamodb.table", "dynamodb.continuous_backups"


@custom(kinds=(TABLE, CONTINUOUS_BACKUPS), regional=True)
def pitr_enabled(c: Check) -> Iterator[Finding]:
    for table in c.listed(TABLE, resource_type="table"):
        with c.item():
            state = c.need(
                CONTINUOUS_BACKUPS,
                base=table.listing,
                resource_id=table.resource_id,
                resource_type="table",
                what="continuous backup state",
            )
            description = state.payload.get("ContinuousBackupsDescription") or {}
            recovery = description.get("PointInTimeRecoveryDescription") or {}
            pitr = recovery.get("PointInTimeRecoveryStatus")
            if pitr == "ENABLED":
                days = recovery.get("RecoveryPeriodInDays")
                extent = f" ({days} days)" if days else ""
                yield c.passed(state, f"point-in-time recovery is on{extent}", also=[table.listing])
            else:
                yield c.failed(state, f"point-in-time recovery is {str(pitr or 'off').lower()}", also=[table.listing])
