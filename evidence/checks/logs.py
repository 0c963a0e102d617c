"""The logs.* checks: how long CloudWatch Logs keeps events (metadata in logs.yaml)."""

from __future__ import annotations

from evidence.checks.types import Finding
from evidence.checks.unit import Check, each
from evidence.store import EvidenceRecord

LOG_GROUP = "logs.log_group"


@each(LOG_GROUP, resource_type="log-group", what="log group details")
def retention_at_least_one_year(c: Check, group: EvidenceRecord) -> Finding:
    minimum = c.thresholds.log_retention_min_days
    days = group.payload.get("retentionInDays")
    if days is None:
        return c.passed(group, "events never expire")
    if days >= minimum:
        return c.passed(group, f"events are kept for {days} days")
    return c.failed(group, f"events are kept for {days} days (minimum {minimum})")
