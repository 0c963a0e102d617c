"""The securityhub.* checks: Security Hub enabled in every region, and the standards it runs (metadata in
securityhub.yaml)."""

from __future__ import annotations

from evidence.checks.types import Finding
from evidence.checks.unit import Check, per_region
from evidence.checks.verdicts import setting_id

HUB, STANDARDS = "securityhub.hub", "securityhub.enabled_standards"
# The standards required, by the resource part of their ARN (arn:aws:securityhub:REGION::standards/...): the
# frameworks auditpack reports on assess against AWS's own baseline and PCI DSS v4.0.1's controls.
REQUIRED = {
    "standards/aws-foundational-security-best-practices/v/1.0.0": "AWS Foundational Security Best Practices v1.0.0",
    "standards/pci-dss/v/4.0.1": "PCI DSS v4.0.1",
}


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


def _standard(arn: object) -> str:
    return str(arn).split(":", 5)[-1]


@per_region(reads=(HUB, STANDARDS))
def standards_enabled(c: Check, account_id: str, region: str) -> Finding:
    where = {"resource_id": setting_id(account_id, region, "securityhub"), "resource_type": "hub"}
    hub = c.setting(HUB, account_id, region, what="Security Hub state", **where)
    if not hub.payload.get("HubArn"):
        return c.not_applicable(hub, "Security Hub is not enabled in this region (securityhub.enabled fails)")
    subscribed = c.setting(STANDARDS, account_id, region, what="Security Hub's enabled standards", **where)
    status = {
        _standard(s.get("StandardsArn")): s.get("StandardsStatus")
        for s in subscribed.payload.get("StandardsSubscriptions") or []
    }
    missing = [title for key, title in REQUIRED.items() if key not in status]
    unready = [
        f"{title} is {status[key]}" for key, title in REQUIRED.items() if key in status and status[key] != "READY"
    ]
    if missing or unready:
        parts = ([f"not enabled: {', '.join(missing)}"] if missing else []) + unready
        return c.failed(subscribed, "; ".join(parts), also=[hub], **where)
    return c.passed(subscribed, f"{' and '.join(REQUIRED.values())} are enabled and READY", also=[hub], **where)
