"""Logging checks: CloudTrail, AWS Config, VPC flow logs, log retention, GuardDuty."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from evidence.checks.registry import check
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import Finding
from evidence.checks.verdicts import (
    ERROR,
    FAIL,
    PASS,
    gap_error,
    listed_records,
    missing_error,
    needed,
    place_setting,
    setting_id,
    verdict,
)
from evidence.checks.view import GLOBAL, EvidenceView
from evidence.store import EvidenceRecord

TRAIL, STATUS, SELECTORS = "cloudtrail.trail", "cloudtrail.trail_status", "cloudtrail.event_selectors"
TRAIL_KINDS = (TRAIL, STATUS, SELECTORS)


def records_all_management_events(selectors: dict[str, Any]) -> bool:
    """Whether event selectors record read and write management events. Empty selectors record nothing."""
    for selector in selectors.get("EventSelectors") or []:
        if selector.get("IncludeManagementEvents") and selector.get("ReadWriteType") == "All":
            return True
    for selector in selectors.get("AdvancedEventSelectors") or []:
        fields = {f.get("Field"): f for f in selector.get("FieldSelectors", [])}
        category = fields.get("eventCategory", {})
        if "Management" in (category.get("Equals") or []) and "readOnly" not in fields:
            return True
    return False


def _trails(view: EvidenceView, check_id: str) -> Iterator[EvidenceRecord | Finding]:
    """Every trail of every account (listed in any region, recorded once), or the errors standing in."""
    return listed_records(view, check_id, TRAIL, resource_type="trail", what="trail details")


def _trail_part(
    view: EvidenceView, check_id: str, trail: EvidenceRecord, kind: str, what: str
) -> EvidenceRecord | Finding:
    return needed(
        view,
        check_id,
        kind,
        account_id=trail.account_id,
        resource_id=trail.resource_id,
        resource_type="trail",
        region=trail.region,
        what=what,
        base=trail,
    )


@check("cloudtrail.multi_region_trail", kinds=TRAIL_KINDS, regional=False)
def multi_region_trail(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    """One finding per account: pass when any trail is multi-region, logging, and records all management events."""
    check_id = "cloudtrail.multi_region_trail"
    results: dict[str, list[EvidenceRecord | Finding]] = {account: [] for account in view.accounts()}
    for item in _trails(view, check_id):
        results.setdefault(item.account_id, []).append(item)
    for account_id, items in sorted(results.items()):
        resource_id = setting_id(account_id, GLOBAL, "cloudtrail")
        errors = [i for i in items if isinstance(i, Finding)]
        trails = [i for i in items if isinstance(i, EvidenceRecord)]
        basis = [*view.listings_of(TRAIL, account_id), *trails]
        reasons = []
        for trail in trails:
            if not trail.payload.get("IsMultiRegionTrail"):
                reasons.append(f"{trail.payload.get('Name')}: single-region")
                continue
            status = _trail_part(view, check_id, trail, STATUS, "trail status")
            selectors = _trail_part(view, check_id, trail, SELECTORS, "event selectors")
            parts = [p for p in (status, selectors) if isinstance(p, Finding)]
            if parts:
                errors.extend(parts)
                continue
            assert isinstance(status, EvidenceRecord) and isinstance(selectors, EvidenceRecord)
            if not status.payload.get("IsLogging"):
                reasons.append(f"{trail.payload.get('Name')}: not logging")
            elif not records_all_management_events(selectors.payload):
                reasons.append(f"{trail.payload.get('Name')}: does not record read and write management events")
            else:
                yield verdict(
                    check_id,
                    PASS,
                    trail,
                    f"trail {trail.payload.get('Name')} is multi-region, logging and records all management events",
                    also=[status, selectors],
                    resource_id=resource_id,
                    resource_type="account",
                    region=GLOBAL,
                )
                break
        else:
            if errors:
                first = errors[0]
                yield Finding(
                    check_id=check_id,
                    status=ERROR,
                    account_id=account_id,
                    region=GLOBAL,
                    resource_id=resource_id,
                    reason=f"no qualifying trail found and some trail evidence is missing ({first.reason})",
                    evidence=tuple(dict.fromkeys(r.sha256 for r in basis)),
                    observed_at=first.observed_at,
                    resource_type="account",
                )
            elif not basis:
                yield missing_error(
                    check_id,
                    account_id=account_id,
                    region=GLOBAL,
                    resource_id=resource_id,
                    resource_type="account",
                    what="trail listing",
                )
            else:
                yield verdict(
                    check_id,
                    FAIL,
                    basis[0],
                    "no multi-region trail that is logging and records all management events"
                    + (f" ({'; '.join(reasons)})" if reasons else " (no trails)"),
                    also=basis[1:],
                    resource_id=resource_id,
                    resource_type="account",
                    region=GLOBAL,
                )


@check("cloudtrail.log_file_validation", kinds=(TRAIL,), regional=True)
def log_file_validation(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "cloudtrail.log_file_validation"
    for trail in _trails(view, check_id):
        if isinstance(trail, Finding):
            yield trail
        elif trail.payload.get("LogFileValidationEnabled") is True:
            yield verdict(check_id, PASS, trail, "log file validation is on")
        else:
            yield verdict(check_id, FAIL, trail, "log file validation is off")


@check("cloudtrail.kms_encrypted", kinds=(TRAIL,), regional=True)
def kms_encrypted(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "cloudtrail.kms_encrypted"
    for trail in _trails(view, check_id):
        if isinstance(trail, Finding):
            yield trail
        elif trail.payload.get("KmsKeyId"):
            yield verdict(check_id, PASS, trail, f"log files are encrypted with {trail.payload['KmsKeyId']}")
        else:
            yield verdict(check_id, FAIL, trail, "log files are not encrypted with a KMS key")


@check("config.recorder_enabled", kinds=("config.recorders", "config.recorder_status"), regional=True)
def recorder_enabled(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "config.recorder_enabled"
    for account_id, region in view.targets():
        resource_id = setting_id(account_id, region, "config-recorders")
        common = {
            "account_id": account_id,
            "region": region,
            "resource_id": resource_id,
            "resource_type": "configuration-recorder",
        }
        recorders = place_setting(view, check_id, "config.recorders", what="configuration recorders", **common)
        if isinstance(recorders, Finding):
            yield recorders
            continue
        status = place_setting(view, check_id, "config.recorder_status", what="configuration recorder status", **common)
        if isinstance(status, Finding):
            yield status
            continue
        names = [r.get("name") for r in recorders.payload.get("ConfigurationRecorders", [])]
        recording = [
            s.get("name") for s in status.payload.get("ConfigurationRecordersStatus", []) if s.get("recording") is True
        ]
        if not names:
            yield verdict(check_id, FAIL, recorders, "no configuration recorder exists in this region", also=[status])
        elif not [n for n in names if n in recording]:
            yield verdict(
                check_id, FAIL, recorders, f"configuration recorder {names[0]} is not recording", also=[status]
            )
        else:
            yield verdict(
                check_id, PASS, recorders, f"configuration recorder {recording[0]} is recording", also=[status]
            )


@check("ec2.vpc_flow_logs_enabled", kinds=("ec2.vpc", "ec2.flow_logs"), regional=True)
def vpc_flow_logs_enabled(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "ec2.vpc_flow_logs_enabled"
    for vpc in listed_records(view, check_id, "ec2.vpc", resource_type="vpc", what="VPC details"):
        if isinstance(vpc, Finding):
            yield vpc
            continue
        flow_logs = place_setting(
            view,
            check_id,
            "ec2.flow_logs",
            account_id=vpc.account_id,
            region=vpc.region,
            resource_id=vpc.resource_id,
            resource_type="vpc",
            what="flow log listing",
        )
        if isinstance(flow_logs, Finding):
            yield flow_logs
            continue
        vpc_id = vpc.payload.get("VpcId")
        active = [
            f
            for f in flow_logs.payload.get("FlowLogs", [])
            if f.get("ResourceId") == vpc_id and f.get("FlowLogStatus") == "ACTIVE"
        ]
        if active:
            yield verdict(check_id, PASS, vpc, f"flow log {active[0].get('FlowLogId')} is active", also=[flow_logs])
        else:
            yield verdict(check_id, FAIL, vpc, "the VPC has no active flow log", also=[flow_logs])


@check("logs.retention_at_least_one_year", kinds=("logs.log_group",), regional=True)
def retention_at_least_one_year(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "logs.retention_at_least_one_year"
    minimum = thresholds.log_retention_min_days
    for group in listed_records(view, check_id, "logs.log_group", resource_type="log-group", what="log group details"):
        if isinstance(group, Finding):
            yield group
            continue
        days = group.payload.get("retentionInDays")
        if days is None:
            yield verdict(check_id, PASS, group, "events never expire")
        elif days >= minimum:
            yield verdict(check_id, PASS, group, f"events are kept for {days} days")
        else:
            yield verdict(check_id, FAIL, group, f"events are kept for {days} days (minimum {minimum})")


@check("guardduty.enabled", kinds=("guardduty.detector",), regional=True)
def guardduty_enabled(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "guardduty.enabled"
    for account_id, region in view.targets():
        resource_id = setting_id(account_id, region, "guardduty")
        listing = view.listing("guardduty.detector", account_id, region)
        if listing is None:
            gaps = view.gaps(
                "guardduty.detector", account_id=account_id, region=region, resource_id=None
            ) or view.collector_gaps(account_id, region)
            if gaps:
                yield gap_error(
                    check_id,
                    gaps[0],
                    resource_id=resource_id,
                    resource_type="detector",
                    region=region,
                    account_id=account_id,
                )
            else:
                yield missing_error(
                    check_id,
                    account_id=account_id,
                    region=region,
                    resource_id=resource_id,
                    resource_type="detector",
                    what="detector listing",
                )
            continue
        detectors, errors = [], []
        for detector_arn in listing.payload.get("resource_ids", []):
            item = needed(
                view,
                check_id,
                "guardduty.detector",
                account_id=account_id,
                resource_id=detector_arn,
                resource_type="detector",
                region=region,
                what="detector details",
                base=listing,
            )
            (errors if isinstance(item, Finding) else detectors).append(item)
        enabled = [d for d in detectors if isinstance(d, EvidenceRecord) and d.payload.get("Status") == "ENABLED"]
        common: dict[str, Any] = {"resource_id": resource_id, "resource_type": "detector", "region": region}
        if enabled:
            yield verdict(
                check_id,
                PASS,
                listing,
                f"detector {enabled[0].payload.get('DetectorId')} is enabled",
                also=enabled[:1],
                **common,
            )
        elif errors:
            yield Finding(
                check_id=check_id,
                status=ERROR,
                account_id=account_id,
                region=region,
                resource_id=resource_id,
                reason=f"no enabled detector found and some detector evidence is missing ({errors[0].reason})",
                evidence=(listing.sha256,),
                observed_at=errors[0].observed_at,
                resource_type="detector",
            )
        elif detectors:
            yield verdict(
                check_id, FAIL, listing, "every detector in this region is disabled", also=detectors, **common
            )  # type: ignore[arg-type]
        else:
            yield verdict(check_id, FAIL, listing, "GuardDuty has no detector in this region", **common)
