"""The securityhub.* checks: Security Hub enabled in every region, the standards it runs, and the threats it holds
that nobody has triaged (metadata in securityhub.yaml)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from evidence.checks.types import Finding
from evidence.checks.unit import Check, custom, per_region
from evidence.checks.verdicts import listing_id, missing_error, setting_id
from evidence.store import EvidenceRecord

HUB, STANDARDS = "securityhub.hub", "securityhub.enabled_standards"
THREAT = "securityhub.threat_finding"
THREAT_NAMESPACES = ("TTPs/", "Effects/", "Unusual Behaviors/")  # ASFF types of detected threats and anomalies
SEVERE = ("HIGH", "CRITICAL")
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


def _created(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        created = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return created if created.tzinfo is not None else None


def _what(finding: dict[str, Any]) -> str:
    """ "'Title' (HIGH) on AwsEc2Instance i-0abc": the finding, its severity and what it is about."""
    severity = (finding.get("Severity") or {}).get("Label", "?")
    resources = [
        f"{r.get('Type', '?')} {str(r.get('Id', '?')).rsplit('/', 1)[-1]}" for r in finding.get("Resources") or []
    ]
    title = finding.get("Title") or next(iter(finding.get("Types") or []), "a finding")
    return f"'{title}' ({severity})" + (f" on {', '.join(resources[:3])}" if resources else "")


def _judge(c: Check, record: EvidenceRecord, limit: int, also: list[EvidenceRecord]) -> Finding:
    finding = record.payload
    types = [str(t) for t in finding.get("Types") or []]
    if not any(t.startswith(THREAT_NAMESPACES) for t in types):
        return c.not_applicable(record, f"not a threat detection ({', '.join(types) or 'no type'})", also=also)
    severity = (finding.get("Severity") or {}).get("Label")
    if severity not in SEVERE:
        return c.not_applicable(record, f"{_what(finding)}: below high severity", also=also)
    if finding.get("RecordState") == "ARCHIVED":
        return c.passed(record, f"{_what(finding)} is archived at its source", also=also)
    workflow = (finding.get("Workflow") or {}).get("Status")
    if workflow and workflow != "NEW":
        return c.passed(record, f"{_what(finding)} was triaged (workflow {workflow})", also=also)
    created = _created(finding.get("CreatedAt"))
    if created is None:
        return c.error(record, f"cannot decide: {_what(finding)} does not say when it was created", also=also)
    days = (c.now - created).days
    if days > limit:
        return c.failed(
            record, f"{_what(finding)} has waited {days} days untriaged (workflow NEW; limit {limit})", also=also
        )
    age = f"{days} day{'' if days == 1 else 's'} old"
    return c.passed(record, f"{_what(finding)} is {age}, within the {limit}-day triage limit", also=also)


@custom(kinds=(HUB, THREAT), regional=True)
def threat_findings_triaged(c: Check) -> Iterator[Finding]:
    limit = c.thresholds.threat_finding_max_untriaged_days
    for account_id, region in c.view.targets():
        with c.item():
            where = {"resource_id": setting_id(account_id, region, "securityhub"), "resource_type": "hub"}
            hub = c.setting(HUB, account_id, region, what="Security Hub state", **where)
            if not hub.payload.get("HubArn"):
                reason = "cannot decide: Security Hub is not enabled here, so no finding's triage is recorded"
                yield c.error(hub, reason + " (securityhub.enabled fails)")
                continue
            listing = c.listing(
                THREAT,
                account_id,
                region,
                resource_id=listing_id(account_id, region, THREAT),
                resource_type="securityhub-findings",
                what="listing of Security Hub's untriaged threat findings",
            )
            ids = listing.payload.get("resource_ids", [])
            if not ids:
                reason = "Security Hub holds no active high or critical threat finding awaiting triage"
                yield c.passed(listing, reason, also=[hub], resource_type="securityhub-findings")
            for finding_id in ids:
                record = c.view.one(THREAT, account_id, finding_id)
                if record is None:
                    place = {"account_id": account_id, "region": region, "resource_id": finding_id}
                    what = "Security Hub threat finding"
                    yield missing_error(
                        c.id, resource_type="securityhub-finding", what=what, evidence=[listing], **place
                    )
                else:
                    yield _judge(c, record, limit, [listing, hub])
