"""The guardduty.* checks: a GuardDuty detector enabled in every region, with malware protection and runtime
monitoring on (metadata in guardduty.yaml)."""

from __future__ import annotations

from typing import Any

from evidence.checks.types import Finding
from evidence.checks.unit import Check, per_region
from evidence.checks.verdicts import setting_id
from evidence.store import EvidenceRecord

DETECTOR = "guardduty.detector"
_MALWARE = ("EBS_MALWARE_PROTECTION",)
_RUNTIME = ("RUNTIME_MONITORING", "EKS_RUNTIME_MONITORING")


def _region_setting(account_id: str, region: str) -> dict[str, Any]:
    """What a finding about the region's GuardDuty setting is about (one per account and region)."""
    return {"resource_id": setting_id(account_id, region, "guardduty"), "resource_type": "detector", "region": region}


def _listing(c: Check, account_id: str, region: str) -> EvidenceRecord:
    return c.listing(
        DETECTOR,
        account_id,
        region,
        resource_id=setting_id(account_id, region, "guardduty"),
        resource_type="detector",
        what="detector listing",
    )


@per_region(reads=(DETECTOR,))
def enabled(c: Check, account_id: str, region: str) -> Finding:
    listing = _listing(c, account_id, region)
    where = _region_setting(account_id, region)
    detectors: list[EvidenceRecord] = []
    missing: list[Finding] = []
    for arn in listing.payload.get("resource_ids", []):
        detector = c.attempt(
            missing, c.need, DETECTOR, base=listing, resource_id=arn, resource_type="detector", what="detector details"
        )
        if detector is not None:
            detectors.append(detector)
    on = [d for d in detectors if d.payload.get("Status") == "ENABLED"]
    if on:
        return c.passed(listing, f"detector {on[0].payload.get('DetectorId')} is enabled", also=on[:1], **where)
    if missing:
        reason = "no enabled detector found and some detector evidence is missing"
        return c.incomplete(reason, missing, basis=[listing], account_id=account_id, **where)
    if detectors:
        return c.failed(listing, "every detector in this region is disabled", also=detectors, **where)
    return c.failed(listing, "GuardDuty has no detector in this region", **where)


def _feature_on(detector: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    features = detector.get("Features") or []
    on = [f.get("Name") for f in features if f.get("Name") in names and f.get("Status") == "ENABLED"]
    legacy = ((detector.get("DataSources") or {}).get("MalwareProtection") or {}).get(
        "ScanEc2InstanceWithFindings"
    ) or {}
    if "EBS_MALWARE_PROTECTION" in names and (legacy.get("EbsVolumes") or {}).get("Status") == "ENABLED":
        on.append("EBS_MALWARE_PROTECTION")
    return on


def _feature(c: Check, account_id: str, region: str, names: tuple[str, ...], what: str) -> Finding:
    listing = _listing(c, account_id, region)
    where = _region_setting(account_id, region)
    detectors = [c.view.one(DETECTOR, account_id, arn) for arn in listing.payload.get("resource_ids", [])]
    present = [d for d in detectors if d is not None]
    if len(present) < len(detectors):
        return c.error(listing, "evidence missing: no detector details was collected", **where)
    enabled = [d for d in present if d.payload.get("Status") == "ENABLED"]
    on = [d for d in enabled if _feature_on(d.payload, names)]
    if on:
        return c.passed(listing, f"{what} is on for detector {on[0].payload.get('DetectorId')}", also=on[:1], **where)
    if enabled:
        return c.failed(listing, f"{what} is off", also=enabled, **where)
    return c.failed(listing, "GuardDuty is not enabled in this region", **where)


@per_region(reads=(DETECTOR,))
def malware_protection_enabled(c: Check, account_id: str, region: str) -> Finding:
    return _feature(c, account_id, region, _MALWARE, "malware protection for EC2")


@per_region(reads=(DETECTOR,))
def runtime_monitoring_enabled(c: Check, account_id: str, region: str) -> Finding:
    return _feature(c, account_id, region, _RUNTIME, "runtime monitoring")


PUBLISHING = "guardduty.publishing_destinations"
ADMINISTRATOR = "guardduty.administrator"


def _enabled_detectors(c: Check, listing: EvidenceRecord) -> list[EvidenceRecord]:
    """The region's enabled detectors; a listed detector whose details were not collected is Unavailable."""
    detectors = [
        c.need(DETECTOR, base=listing, resource_id=arn, resource_type="detector", what="detector details")
        for arn in listing.payload.get("resource_ids", [])
    ]
    return [d for d in detectors if d.payload.get("Status") == "ENABLED"]


def _about(where: dict[str, Any]) -> dict[str, str]:
    """The resource a finding is about (the region's GuardDuty setting), for `need` of evidence stored by detector."""
    return {"resource_id": where["resource_id"], "resource_type": where["resource_type"]}


def _exports(destination: dict[str, Any]) -> bool:
    properties = destination.get("DestinationProperties") or {}
    return (
        destination.get("DestinationType") == "S3"
        and destination.get("Status") == "PUBLISHING"
        and bool(properties.get("DestinationArn"))
        and bool(properties.get("KmsKeyArn"))
    )


@per_region(reads=(DETECTOR, PUBLISHING))
def findings_exported(c: Check, account_id: str, region: str) -> Finding:
    listing = _listing(c, account_id, region)
    where = _region_setting(account_id, region)
    enabled = _enabled_detectors(c, listing)
    if not enabled:
        return c.failed(listing, "GuardDuty is not enabled in this region", **where)
    detector = enabled[0]
    published = c.need(
        PUBLISHING, base=detector, what="publishing destinations", key=detector.resource_id, **_about(where)
    )
    exporting = [d for d in published.payload.get("Destinations", []) if _exports(d)]
    if exporting:
        bucket = exporting[0]["DestinationProperties"]["DestinationArn"]
        return c.passed(
            published, f"findings are exported to {bucket}, encrypted with a KMS key", also=[detector], **where
        )
    if published.payload.get("Destinations"):
        reason = "no publishing destination is an S3 bucket with a KMS key that is publishing"
    else:
        reason = "findings are not exported: GuardDuty keeps them only 90 days"
    return c.failed(published, reason, also=[detector], **where)


def _administered(record: EvidenceRecord) -> str | None:
    """The administrator account of a detector whose membership is enabled, else None."""
    administrator = record.payload.get("Administrator") or {}
    if _enabled(administrator):
        return str(administrator.get("AccountId"))
    return None


@per_region(reads=(DETECTOR, ADMINISTRATOR))
def managed_by_organization(c: Check, account_id: str, region: str) -> Finding:
    listing = _listing(c, account_id, region)
    where = _region_setting(account_id, region)
    arns = listing.payload.get("resource_ids", [])
    if not arns:
        return c.failed(listing, "GuardDuty has no detector in this region", **where)
    detector = c.need(ADMINISTRATOR, base=listing, key=arns[0], what="detector administrator", **_about(where))
    admin = _administered(detector)
    if admin is not None:
        return c.passed(detector, f"administered by the delegated GuardDuty administrator {admin}", **where)
    # The delegated administrator has no administrator of its own: its detector is the Organization's when it
    # administers member accounts (evaluation sees one account at a time, so this rests on its own ListMembers).
    members = sorted({str(m.get("AccountId")) for m in detector.payload.get("Members") or [] if _enabled(m)})
    if members:
        reason = f"this account is the delegated GuardDuty administrator of {len(members)} member account(s)"
        return c.passed(detector, reason, **where)
    return c.failed(detector, "the detector is standalone: no delegated GuardDuty administrator manages it", **where)


def _enabled(relationship: dict[str, Any]) -> bool:
    return str(relationship.get("RelationshipStatus", "")).lower() == "enabled"
