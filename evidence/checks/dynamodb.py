"""The dynamodb.* checks in unit form (metadata in dynamodb.yaml): classified tables are encrypted with a
customer-managed KMS key."""

from __future__ import annotations

from evidence.checks.customer_keys import ALIASES, KEY, key_owner
from evidence.checks.support import classification
from evidence.checks.types import Finding
from evidence.checks.unit import Check, each
from evidence.store import EvidenceRecord

TABLE, TAGS = "dynamodb.table", "dynamodb.table_tags"


@each(TABLE, resource_type="table", what="table description", reads=(TAGS, KEY, ALIASES))
def cmk_on_classified(c: Check, table: EvidenceRecord) -> Finding:
    tags = c.need(TAGS, base=table, what="table tags")
    label = classification(tags.payload.get("Tags"), c.thresholds.classification_tag_keys)
    if label is None:
        keys = ", ".join(c.thresholds.classification_tag_keys)
        return c.not_applicable(table, f"not classified (no tag among {keys})", also=[tags])
    sse = table.payload.get("SSEDescription") or {}
    also: list[EvidenceRecord] = [tags]
    if sse.get("SSEType") != "KMS" or not sse.get("KMSMasterKeyArn"):
        return c.failed(
            table, f"classified {label[1]}: encrypted with a key AWS owns, not a customer-managed key", also=also
        )
    owner = key_owner(c, table, str(sse["KMSMasterKeyArn"]), region=table.region)
    also += owner.evidence
    state = f" (encryption {str(sse['Status']).lower()})" if sse.get("Status") not in (None, "ENABLED") else ""
    if owner.customer:
        return c.passed(table, f"classified {label[1]}: encrypted with {owner.describe}{state}", also=also)
    return c.failed(table, f"classified {label[1]}: encrypted with {owner.describe}{state}", also=also)
