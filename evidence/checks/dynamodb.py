"""The dynamodb.* checks: point-in-time recovery of tables, customer-managed keys on classified tables (metadata in
dynamodb.yaml)."""

from __future__ import annotations

from collections.abc import Iterator

from evidence.checks._classification import restricted
from evidence.checks._keys import ALIASES, KEY, key_owner
from evidence.checks.types import Finding
from evidence.checks.unit import Check, custom, each
from evidence.store import EvidenceRecord

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


@each(TABLE, resource_type="table", what="table description", reads=("dynamodb.table_tags", KEY, ALIASES))
def cmk_on_classified(c: Check, table: EvidenceRecord) -> Finding:
    tags = c.need("dynamodb.table_tags", base=table, what="table tags")
    label, why = restricted(tags.payload.get("Tags"), c.thresholds)
    if label is None:
        return c.not_applicable(table, why, also=[tags])
    sse = table.payload.get("SSEDescription") or {}
    also: list[EvidenceRecord] = [tags]
    if sse.get("SSEType") != "KMS" or not sse.get("KMSMasterKeyArn"):
        return c.failed(
            table, f"classified {label}: encrypted with a key AWS owns, not a customer-managed key", also=also
        )
    owner = key_owner(c, table, str(sse["KMSMasterKeyArn"]), region=table.region)
    also += owner.evidence
    state = f" (encryption {str(sse['Status']).lower()})" if sse.get("Status") not in (None, "ENABLED") else ""
    if owner.customer:
        return c.passed(table, f"classified {label}: encrypted with {owner.describe}{state}", also=also)
    return c.failed(table, f"classified {label}: encrypted with {owner.describe}{state}", also=also)
