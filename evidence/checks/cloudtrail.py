"""The cloudtrail.* checks: a multi-region trail recording management and S3 data events, log file validation,
encryption and delivery to CloudWatch Logs (metadata in cloudtrail.yaml)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from evidence.checks._trails import (
    SELECTORS,
    STATUS,
    TRAIL,
    TRAIL_KINDS,
    account_trails,
    account_verdict,
    each_trail,
    trail_part,
)
from evidence.checks.types import Finding
from evidence.checks.unit import Check, custom, each
from evidence.checks.verdicts import setting_id
from evidence.checks.view import GLOBAL
from evidence.store import EvidenceRecord

trails = each(TRAIL, resource_type="trail", what="trail details")


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


@custom(kinds=TRAIL_KINDS, regional=False)
def multi_region_trail(c: Check) -> Iterator[Finding]:
    """One finding per account: pass when any trail is multi-region, logging, and records all management events."""
    by_account: dict[str, list[EvidenceRecord]] = {account: [] for account in c.view.accounts()}
    missing: dict[str, list[Finding]] = {account: [] for account in c.view.accounts()}
    for trail in each_trail(c, missing):
        by_account.setdefault(trail.account_id, []).append(trail)
    for account_id in sorted({*by_account, *missing}):
        found, errors = by_account.get(account_id, []), missing.setdefault(account_id, [])
        where: dict[str, Any] = {
            "resource_id": setting_id(account_id, GLOBAL, "cloudtrail"),
            "resource_type": "account",
            "region": GLOBAL,
        }
        basis = [*c.view.listings_of(TRAIL, account_id), *found]
        reasons = []
        for trail in found:
            name = trail.payload.get("Name")
            if not trail.payload.get("IsMultiRegionTrail"):
                reasons.append(f"{name}: single-region")
                continue
            status = trail_part(c, trail, STATUS, "trail status", errors)
            selectors = trail_part(c, trail, SELECTORS, "event selectors", errors)
            if status is None or selectors is None:
                continue
            if not status.payload.get("IsLogging"):
                reasons.append(f"{name}: not logging")
            elif not records_all_management_events(selectors.payload):
                reasons.append(f"{name}: does not record read and write management events")
            else:
                yield c.passed(
                    trail,
                    f"trail {name} is multi-region, logging and records all management events",
                    also=[status, selectors],
                    **where,
                )
                break
        else:
            if errors:
                reason = "no qualifying trail found and some trail evidence is missing"
                yield c.incomplete(reason, errors, basis=basis, account_id=account_id, **where)
            elif not basis:
                yield c.absent(account_id=account_id, what="trail listing", **where)
            else:
                yield c.failed(
                    basis[0],
                    "no multi-region trail that is logging and records all management events"
                    + (f" ({'; '.join(reasons)})" if reasons else " (no trails)"),
                    also=basis[1:],
                    **where,
                )


@trails
def log_file_validation(c: Check, trail: EvidenceRecord) -> Finding:
    if trail.payload.get("LogFileValidationEnabled") is True:
        return c.passed(trail, "log file validation is on")
    return c.failed(trail, "log file validation is off")


@trails
def kms_encrypted(c: Check, trail: EvidenceRecord) -> Finding:
    if trail.payload.get("KmsKeyId"):
        return c.passed(trail, f"log files are encrypted with {trail.payload['KmsKeyId']}")
    return c.failed(trail, "log files are not encrypted with a KMS key")


# A data resource value naming every bucket: "arn:PARTITION:s3" or "arn:PARTITION:s3:::", in any partition.
_ALL_BUCKETS = re.compile(r"arn:[a-z0-9-]+:s3(:::)?")


def s3_object_coverage(selectors: dict[str, Any]) -> set[str]:
    """Which of "read" and "write" S3 object-level events the selectors record for every bucket."""
    covered: set[str] = set()
    kinds = {"All": {"read", "write"}, "ReadOnly": {"read"}, "WriteOnly": {"write"}}
    for selector in selectors.get("EventSelectors") or []:
        for resource in selector.get("DataResources") or []:
            every = any(_ALL_BUCKETS.fullmatch(str(value)) for value in resource.get("Values") or [])
            if resource.get("Type") == "AWS::S3::Object" and every:
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


@custom(kinds=TRAIL_KINDS, regional=False)
def s3_data_events(c: Check) -> Iterator[Finding]:
    """One finding per account: a logging multi-region trail records reads and writes of every S3 object."""
    for account_id, (states, errors) in sorted(account_trails(c).items()):
        partial = []
        for state in states:
            covered = s3_object_coverage(state.selectors.payload)
            if covered == {"read", "write"}:
                yield c.passed(
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
            yield account_verdict(
                c,
                account_id,
                errors,
                f"no logging multi-region trail records S3 object reads and writes for every bucket{detail}",
            )


@each(TRAIL, resource_type="trail", what="trail details", reads=(STATUS,))
def cloudwatch_logs_delivery(c: Check, trail: EvidenceRecord) -> Finding:
    group = trail.payload.get("CloudWatchLogsLogGroupArn")
    if not group:
        return c.failed(trail, "the trail does not deliver events to CloudWatch Logs")
    status = c.need(STATUS, base=trail, resource_type="trail", what="trail status")
    error = status.payload.get("LatestCloudWatchLogsDeliveryError")
    if error:
        return c.failed(trail, f"delivery to CloudWatch Logs fails: {error}", also=[status])
    return c.passed(trail, f"events are delivered to {group.removesuffix(':*')}", also=[status])
