"""The securityhub.* checks: Security Hub enabled in every region (metadata in securityhub.yaml)."""

from __future__ import annotations

from evidence.checks.types import Finding
from evidence.checks.unit import Check, per_region
from evidence.checks.verdicts import setting_id

HUB = "securityhub.hub"


@per_region(reads=(HUB,))
def enabled(c: Check, account_id: str, region: str) -> Finding:
    hub = c.setting(
        HUB,
        account_id,
        region,
        resource_id=setting_id(account_id, region, "securityhub"),
        resource_type="hub",
        what="Security Hub state",
    )
    if hub.payload.get("HubArn"):
        return c.passed(hub, f"Security Hub is enabled (since {hub.payload.get('SubscribedAt')})")
    return c.failed(hub, "Security Hub is not enabled in this region")
