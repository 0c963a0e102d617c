"""The inspector2.* checks: whether Amazon Inspector scans EC2, ECR and Lambda, and whether critical findings stay
open past the remediation limit (metadata in inspector2.yaml)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from evidence.checks.types import Finding
from evidence.checks.unit import Check, custom, per_region
from evidence.checks.verdicts import listing_id, missing_error, setting_id
from evidence.store import EvidenceRecord

STATUS = "inspector2.account_status"
FINDING = "inspector2.critical_finding"
# The resource types a scan must cover (BatchGetAccountStatus resourceState keys), as the console names them.
REQUIRED = {"ec2": "EC2", "ecr": "ECR", "lambda": "Lambda"}


def _status(c: Check, account_id: str, region: str) -> EvidenceRecord:
    return c.setting(
        STATUS,
        account_id,
        region,
        resource_id=setting_id(account_id, region, "inspector2"),
        resource_type="inspector2-account-status",
        what="Inspector account status",
    )


def _states(status: EvidenceRecord, account_id: str) -> dict[str, str] | None:
    """Scan status per resource type of the account, or None when Inspector reported nothing about it."""
    for account in status.payload.get("accounts") or []:
        if account.get("accountId") == account_id:
            states = account.get("resourceState") or {}
            return {key: str((value or {}).get("status", "UNKNOWN")) for key, value in states.items()}
    return None


def _refused(status: EvidenceRecord, account_id: str) -> dict[str, Any] | None:
    return next((a for a in status.payload.get("failedAccounts") or [] if a.get("accountId") == account_id), None)


@per_region(reads=(STATUS,))
def enabled(c: Check, account_id: str, region: str) -> Finding:
    status = _status(c, account_id, region)
    states = _states(status, account_id)
    if states is None:
        refused = _refused(status, account_id)
        if refused is not None:
            why = f"{refused.get('errorCode')}: {refused.get('errorMessage')}"
            return c.error(status, f"cannot decide: Inspector did not report this account's status ({why})")
        return c.failed(status, "Inspector has never been enabled here (it reports no status for the account)")
    off = [
        f"{name} ({states.get(key, 'not reported').lower()})"
        for key, name in REQUIRED.items()
        if states.get(key) != "ENABLED"
    ]
    if off:
        return c.failed(status, f"Inspector does not scan {', '.join(off)}")
    code = " and Lambda code" if states.get("lambdaCode") == "ENABLED" else ""
    return c.passed(status, f"Inspector scans EC2, ECR and Lambda{code}")


def _since(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _what(finding: dict[str, Any]) -> str:
    """'CVE-2024-1234 on AWS_EC2_INSTANCE i-0abc': the vulnerability (or title) and the resource it affects."""
    details = finding.get("packageVulnerabilityDetails") or {}
    name = details.get("vulnerabilityId") or finding.get("title") or "a critical finding"
    resources = [f"{r.get('type', '?')} {r.get('id', '?')}" for r in finding.get("resources") or []]
    return f"{name} on {', '.join(resources)}" if resources else str(name)


@custom(kinds=(STATUS, FINDING), regional=True)
def no_stale_critical_findings(c: Check) -> Iterator[Finding]:
    limit = c.thresholds.inspector_critical_max_open_days
    for account_id, region in c.view.targets():
        with c.item():
            status = _status(c, account_id, region)
            states = _states(status, account_id) or {}
            if not any(state == "ENABLED" for state in states.values()):
                reason = "cannot decide: Inspector scans nothing here, so the absence of findings proves nothing"
                yield c.error(status, reason)
                continue
            listing = c.listing(
                FINDING,
                account_id,
                region,
                resource_id=listing_id(account_id, region, FINDING),
                resource_type="inspector-findings",
                what="listing of open critical Inspector findings",
            )
            arns = listing.payload.get("resource_ids", [])
            if not arns:
                yield c.passed(
                    listing,
                    "Inspector holds no open critical finding",
                    also=[status],
                    resource_type="inspector-findings",
                )
            for arn in arns:
                finding = c.view.one(FINDING, account_id, arn)
                if finding is None:
                    where = {"account_id": account_id, "region": region, "resource_id": arn}
                    what = "open critical Inspector finding"
                    yield missing_error(c.id, resource_type="inspector-finding", what=what, evidence=[listing], **where)
                else:
                    yield _judge(c, finding, limit, [listing, status])


def _judge(c: Check, finding: EvidenceRecord, limit: int, also: list[EvidenceRecord]) -> Finding:
    first = _since(finding.payload.get("firstObservedAt"))
    what = _what(finding.payload)
    if first is None:
        return c.error(finding, f"cannot decide: the finding ({what}) does not say when it was first observed")
    days = (c.now - first).days
    if days > limit:
        return c.failed(finding, f"{what} has been open {days} days (limit {limit})", also=also)
    return c.passed(finding, f"{what} has been open {days} days, within the {limit}-day limit", also=also)
