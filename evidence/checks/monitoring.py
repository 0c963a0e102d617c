"""Monitoring checks: S3 data events and CloudWatch Logs delivery of CloudTrail, alarms on security events,
Security Hub, GuardDuty's malware protection and runtime monitoring, and Macie."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

import yaml

from evidence.checks.logging import SELECTORS, STATUS, TRAIL, TRAIL_KINDS, _trail_part, _trails
from evidence.checks.registry import check
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import Finding
from evidence.checks.verdicts import ERROR, FAIL, PASS, missing_error, place_setting, setting_id, verdict
from evidence.checks.view import GLOBAL, EvidenceView
from evidence.store import EvidenceRecord

FILTERS, ALARMS = "logs.metric_filters", "cloudwatch.alarms"


@dataclass(frozen=True, slots=True)
class TrailState:
    trail: EvidenceRecord
    status: EvidenceRecord
    selectors: EvidenceRecord

    @property
    def name(self) -> str:
        return str(self.trail.payload.get("Name"))

    @property
    def records(self) -> list[EvidenceRecord]:
        return [self.trail, self.status, self.selectors]


def _account_trails(view: EvidenceView, check_id: str) -> dict[str, tuple[list[TrailState], list[Finding]]]:
    """Per account: every multi-region trail that is logging, with its status and selectors, and the errors
    standing in for trails whose evidence is missing."""
    out: dict[str, tuple[list[TrailState], list[Finding]]] = {a: ([], []) for a in view.accounts()}
    for item in _trails(view, check_id):
        states, errors = out.setdefault(item.account_id, ([], []))
        if isinstance(item, Finding):
            errors.append(item)
            continue
        if not item.payload.get("IsMultiRegionTrail"):
            continue
        status = _trail_part(view, check_id, item, STATUS, "trail status")
        selectors = _trail_part(view, check_id, item, SELECTORS, "event selectors")
        if isinstance(status, Finding) or isinstance(selectors, Finding):
            errors += [p for p in (status, selectors) if isinstance(p, Finding)]
        elif status.payload.get("IsLogging"):
            states.append(TrailState(item, status, selectors))
    return out


def _account_verdict(
    view: EvidenceView, check_id: str, account_id: str, errors: list[Finding], reason: str, *, name: str = "cloudtrail"
) -> Finding:
    """No trail qualified: `error` if some trail evidence is missing (it might have), otherwise `fail`."""
    resource_id = setting_id(account_id, GLOBAL, name)
    basis = view.listings_of(TRAIL, account_id)
    if errors:
        return Finding(
            check_id=check_id,
            status=ERROR,
            account_id=account_id,
            region=GLOBAL,
            resource_id=resource_id,
            reason=f"{reason}, and some trail evidence is missing ({errors[0].reason})",
            evidence=tuple(r.sha256 for r in basis),
            observed_at=errors[0].observed_at,
            resource_type="account",
        )
    if not basis:
        return missing_error(
            check_id,
            account_id=account_id,
            region=GLOBAL,
            resource_id=resource_id,
            resource_type="account",
            what="trail listing",
        )
    return verdict(
        check_id,
        FAIL,
        basis[0],
        reason,
        also=basis[1:],
        resource_id=resource_id,
        resource_type="account",
        region=GLOBAL,
    )


# -- S3 data events --------------------------------------------------------------------------------------------

_ALL_BUCKETS = {"arn:aws:s3", "arn:aws:s3:::"}


def s3_object_coverage(selectors: dict[str, Any]) -> set[str]:
    """Which of "read" and "write" S3 object-level events the selectors record for every bucket."""
    covered: set[str] = set()
    kinds = {"All": {"read", "write"}, "ReadOnly": {"read"}, "WriteOnly": {"write"}}
    for selector in selectors.get("EventSelectors") or []:
        for resource in selector.get("DataResources") or []:
            if resource.get("Type") == "AWS::S3::Object" and _ALL_BUCKETS & set(resource.get("Values") or []):
                covered |= kinds.get(selector.get("ReadWriteType", "All"), set())
    for selector in selectors.get("AdvancedEventSelectors") or []:
        fields = {f.get("Field"): f for f in selector.get("FieldSelectors") or []}
        if "Data" not in (fields.get("eventCategory", {}).get("Equals") or []):
            continue
        if "AWS::S3::Object" not in (fields.get("resources.type", {}).get("Equals") or []):
            continue
        narrowed = set(fields) - {"eventCategory", "resources.type", "readOnly"}
        if narrowed:  # limited to some buckets, event names or callers: not every object access
            continue
        read_only = fields.get("readOnly", {}).get("Equals") or []
        covered |= {"read"} if read_only == ["true"] else {"write"} if read_only == ["false"] else {"read", "write"}
    return covered


@check("cloudtrail.s3_data_events", kinds=TRAIL_KINDS, regional=False)
def s3_data_events(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    """One finding per account: a logging multi-region trail records reads and writes of every S3 object."""
    check_id = "cloudtrail.s3_data_events"
    for account_id, (states, errors) in sorted(_account_trails(view, check_id).items()):
        partial = []
        for state in states:
            covered = s3_object_coverage(state.selectors.payload)
            if covered == {"read", "write"}:
                yield verdict(
                    check_id,
                    PASS,
                    state.trail,
                    f"trail {state.name} records read and write data events for every S3 object",
                    also=state.records[1:],
                    resource_id=setting_id(account_id, GLOBAL, "cloudtrail"),
                    resource_type="account",
                    region=GLOBAL,
                )
                break
            if covered:
                partial.append(f"{state.name}: {' '.join(sorted(covered))} only")
        else:
            detail = f" ({'; '.join(partial)})" if partial else ""
            yield _account_verdict(
                view,
                check_id,
                account_id,
                errors,
                f"no logging multi-region trail records S3 object reads and writes for every bucket{detail}",
            )


@check("cloudtrail.cloudwatch_logs_delivery", kinds=(TRAIL, STATUS), regional=True)
def cloudwatch_logs_delivery(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "cloudtrail.cloudwatch_logs_delivery"
    for trail in _trails(view, check_id):
        if isinstance(trail, Finding):
            yield trail
            continue
        group = trail.payload.get("CloudWatchLogsLogGroupArn")
        if not group:
            yield verdict(check_id, FAIL, trail, "the trail does not deliver events to CloudWatch Logs")
            continue
        status = _trail_part(view, check_id, trail, STATUS, "trail status")
        if isinstance(status, Finding):
            yield status
        elif status.payload.get("LatestCloudWatchLogsDeliveryError"):
            error = status.payload["LatestCloudWatchLogsDeliveryError"]
            yield verdict(check_id, FAIL, trail, f"delivery to CloudWatch Logs fails: {error}", also=[status])
        else:
            yield verdict(check_id, PASS, trail, f"events are delivered to {group.removesuffix(':*')}", also=[status])


# -- alarms on security events ---------------------------------------------------------------------------------


@cache
def security_events() -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(id, title, tokens) of every security event that needs an alarm (data: security_events.yaml)."""
    text = resources.files("evidence.checks").joinpath("security_events.yaml").read_text("utf-8")
    return tuple((e["id"], e["title"], tuple(e["tokens"])) for e in yaml.safe_load(text)["events"])


def log_group_of(arn: str) -> tuple[str, str]:
    """(region, log group name) of a log group ARN such as arn:aws:logs:us-east-1:111:log-group:NAME:*."""
    parts = arn.split(":")
    return parts[3], ":".join(parts[6:]).removesuffix(":*")


def alarmed_events(group: str, filters: list[dict[str, Any]], alarms: list[dict[str, Any]]) -> set[str]:
    """Ids of the security events that a metric filter on `group` turns into a metric watched by an alarm
    with an enabled action."""
    actionable = {
        (a.get("Namespace"), a.get("MetricName"))
        for a in alarms
        if a.get("ActionsEnabled", True) and a.get("AlarmActions")
    }
    covered: set[str] = set()
    for metric_filter in filters:
        if metric_filter.get("logGroupName") != group:
            continue
        metrics = {
            (t.get("metricNamespace"), t.get("metricName")) for t in metric_filter.get("metricTransformations") or []
        }
        if not metrics & actionable:
            continue
        pattern = str(metric_filter.get("filterPattern", "")).lower()
        covered |= {eid for eid, _, tokens in security_events() if all(t.lower() in pattern for t in tokens)}
    return covered


@check("cloudwatch.security_event_alarms", kinds=(*TRAIL_KINDS, FILTERS, ALARMS), regional=False)
def security_event_alarms(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    """One finding per account: the log group of a logging multi-region trail has a metric filter and an
    alarm with an action for every security event in security_events.yaml."""
    check_id = "cloudwatch.security_event_alarms"
    titles = {eid: title for eid, title, _ in security_events()}
    for account_id, (states, errors) in sorted(_account_trails(view, check_id).items()):
        resource_id = setting_id(account_id, GLOBAL, "security-event-alarms")
        delivering = [s for s in states if s.trail.payload.get("CloudWatchLogsLogGroupArn")]
        best: tuple[set[str], TrailState, list[EvidenceRecord]] | None = None
        for state in delivering:
            region, group = log_group_of(state.trail.payload["CloudWatchLogsLogGroupArn"])
            common = {
                "account_id": account_id,
                "region": region,
                "resource_id": resource_id,
                "resource_type": "account",
            }
            filters = place_setting(view, check_id, FILTERS, what="metric filter listing", **common)
            alarms = place_setting(view, check_id, ALARMS, what="alarm listing", **common)
            parts = [p for p in (filters, alarms) if isinstance(p, Finding)]
            if parts:
                errors += parts
                continue
            assert isinstance(filters, EvidenceRecord) and isinstance(alarms, EvidenceRecord)
            covered = alarmed_events(
                group, filters.payload.get("metricFilters", []), alarms.payload.get("MetricAlarms", [])
            )
            if best is None or len(covered) > len(best[0]):
                best = (covered, state, [filters, alarms])
        missing = sorted(set(titles) - best[0]) if best else sorted(titles)
        if best and not missing:
            covered, state, basis = best
            yield verdict(
                check_id,
                PASS,
                state.trail,
                f"every one of {len(titles)} security events raises an alarm from {state.name}'s log group",
                also=[*state.records[1:], *basis],
                resource_id=resource_id,
                resource_type="account",
                region=GLOBAL,
            )
        elif best:
            covered, state, basis = best
            if errors:
                reason = "not every security event raises an alarm"
                yield _account_verdict(view, check_id, account_id, errors, reason, name="security-event-alarms")
                continue
            yield verdict(
                check_id,
                FAIL,
                state.trail,
                f"no alarm with an action for {len(missing)} of {len(titles)} security events: "
                + ", ".join(titles[m] for m in missing),
                also=[*state.records[1:], *basis],
                resource_id=resource_id,
                resource_type="account",
                region=GLOBAL,
            )
        else:
            reason = (
                "no logging multi-region trail delivers to CloudWatch Logs, so no security event can raise an alarm"
            )
            yield _account_verdict(view, check_id, account_id, errors, reason, name="security-event-alarms")


# -- Security Hub and GuardDuty features -------------------------------------------------------------------------


@check("securityhub.enabled", kinds=("securityhub.hub",), regional=True)
def securityhub_enabled(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "securityhub.enabled"
    for account_id, region in view.targets():
        hub = place_setting(
            view,
            check_id,
            "securityhub.hub",
            account_id=account_id,
            region=region,
            resource_id=setting_id(account_id, region, "securityhub"),
            resource_type="hub",
            what="Security Hub state",
        )
        if isinstance(hub, Finding):
            yield hub
        elif hub.payload.get("HubArn"):
            yield verdict(check_id, PASS, hub, f"Security Hub is enabled (since {hub.payload.get('SubscribedAt')})")
        else:
            yield verdict(check_id, FAIL, hub, "Security Hub is not enabled in this region")


_MALWARE = ("EBS_MALWARE_PROTECTION",)
_RUNTIME = ("RUNTIME_MONITORING", "EKS_RUNTIME_MONITORING")


def _feature_on(detector: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    features = detector.get("Features") or []
    on = [f.get("Name") for f in features if f.get("Name") in names and f.get("Status") == "ENABLED"]
    legacy = ((detector.get("DataSources") or {}).get("MalwareProtection") or {}).get(
        "ScanEc2InstanceWithFindings"
    ) or {}
    if "EBS_MALWARE_PROTECTION" in names and (legacy.get("EbsVolumes") or {}).get("Status") == "ENABLED":
        on.append("EBS_MALWARE_PROTECTION")
    return on


def _feature_check(view: EvidenceView, check_id: str, names: tuple[str, ...], what: str) -> Iterator[Finding]:
    for account_id, region in view.targets():
        resource_id = setting_id(account_id, region, "guardduty")
        common: dict[str, Any] = {"resource_id": resource_id, "resource_type": "detector", "region": region}
        listing = view.listing("guardduty.detector", account_id, region)
        if listing is None:
            yield place_setting(
                view, check_id, "guardduty.detector", account_id=account_id, what="detector listing", **common
            )  # type: ignore[misc]  # no listing: always the error standing in for it
            continue
        detectors = [view.one("guardduty.detector", account_id, arn) for arn in listing.payload.get("resource_ids", [])]
        if any(d is None for d in detectors):
            yield missing_error(check_id, account_id=account_id, what="detector details", evidence=[listing], **common)
            continue
        enabled = [d for d in detectors if d is not None and d.payload.get("Status") == "ENABLED"]
        on = [d for d in enabled if _feature_on(d.payload, names)]
        if on:
            yield verdict(
                check_id,
                PASS,
                listing,
                f"{what} is on for detector {on[0].payload.get('DetectorId')}",
                also=on[:1],
                **common,
            )
        elif enabled:
            yield verdict(check_id, FAIL, listing, f"{what} is off", also=enabled, **common)
        else:
            yield verdict(check_id, FAIL, listing, "GuardDuty is not enabled in this region", **common)


@check("guardduty.malware_protection_enabled", kinds=("guardduty.detector",), regional=True)
def malware_protection(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    yield from _feature_check(view, "guardduty.malware_protection_enabled", _MALWARE, "malware protection for EC2")


@check("guardduty.runtime_monitoring_enabled", kinds=("guardduty.detector",), regional=True)
def runtime_monitoring(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    yield from _feature_check(view, "guardduty.runtime_monitoring_enabled", _RUNTIME, "runtime monitoring")


@check("macie.enabled", kinds=("macie.session",), regional=True)
def macie_enabled(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "macie.enabled"
    for account_id, region in view.targets():
        session = place_setting(
            view,
            check_id,
            "macie.session",
            account_id=account_id,
            region=region,
            resource_id=setting_id(account_id, region, "macie"),
            resource_type="macie-session",
            what="Macie session",
        )
        if isinstance(session, Finding):
            yield session
        elif session.payload.get("status") == "ENABLED":
            yield verdict(check_id, PASS, session, "Macie is enabled and can discover sensitive data in S3")
        elif session.payload.get("status"):
            yield verdict(check_id, FAIL, session, f"Macie is {str(session.payload['status']).lower()}")
        else:
            yield verdict(check_id, FAIL, session, "Macie is not enabled in this region")
