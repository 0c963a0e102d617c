"""The macie.* checks: Macie enabled to discover sensitive data in S3, and no sensitive authentication data (full
track data, card verification codes) found stored there (metadata in macie.yaml)."""

from __future__ import annotations

from collections.abc import Iterator

from evidence.aws.partition import arn
from evidence.checks.types import Finding
from evidence.checks.unit import Check, custom, per_region
from evidence.checks.verdicts import listing_id, needed, setting_id
from evidence.store import EvidenceRecord

SESSION = "macie.session"
DISCOVERY = "macie.automated_discovery"
TEMPLATE = "macie.inspection_template"
SAD = "macie.sensitive_data_finding"


@per_region(reads=(SESSION,))
def enabled(c: Check, account_id: str, region: str) -> Finding:
    session = c.setting(
        SESSION,
        account_id,
        region,
        resource_id=setting_id(account_id, region, "macie"),
        resource_type="macie-session",
        what="Macie session",
    )
    status = session.payload.get("status")
    if status == "ENABLED":
        return c.passed(session, "Macie is enabled and can discover sensitive data in S3")
    if status:
        return c.failed(session, f"Macie is {str(status).lower()}")
    return c.failed(session, "Macie is not enabled in this region")


def _detected(finding: EvidenceRecord, identifier: str) -> int:
    """Occurrences of `identifier`'s data the finding reports (0: none)."""
    return sum(
        int(d.get("count") or 1)
        for data in finding.payload.get("sensitiveData") or []
        for d in data.get("detections") or []
        if d.get("type") == identifier
    )


def _object(c: Check, finding: EvidenceRecord) -> tuple[str, str]:
    """(ARN, s3://bucket/key) of the object a finding is about (the bucket's ARN as Macie gives it, else built in
    the account's partition)."""
    affected = finding.payload.get("resourcesAffected") or {}
    bucket = affected.get("s3Bucket") or {}
    name, key = bucket.get("name", "?"), (affected.get("s3Object") or {}).get("key", "?")
    bucket_arn = bucket.get("arn") or arn(c.view.partition(finding.account_id), "s3", "", "", name)
    return f"{bucket_arn}/{key}", f"s3://{name}/{key}"


def _sad(c: Check, identifier: str, what: str) -> Iterator[Finding]:
    """Per region: each unarchived Macie finding of `identifier` in an S3 object fails; with none, a pass needs
    automated discovery running without excluding the identifier, or nothing can be concluded."""
    for account_id, region in c.view.targets():
        with c.item():
            where = {"resource_id": setting_id(account_id, region, "macie"), "resource_type": "macie-session"}
            session = c.setting(SESSION, account_id, region, what="Macie session", **where)
            listing: EvidenceRecord | None = None
            if session.payload.get("status") == "ENABLED":
                listing = c.listing(
                    SAD,
                    account_id,
                    region,
                    resource_id=listing_id(account_id, region, SAD),
                    resource_type="macie-findings",
                    what="listing of Macie's findings of sensitive authentication data",
                )
            found, errors = [], []
            for finding_id in listing.payload.get("resource_ids", []) if listing else []:
                finding = needed(
                    c.view,
                    c.id,
                    SAD,
                    account_id=account_id,
                    resource_id=finding_id,
                    resource_type="macie-finding",
                    region=region,
                    what="Macie finding details",
                    base=listing,
                )
                if isinstance(finding, Finding):
                    errors.append(finding)
                elif _detected(finding, identifier):
                    found.append(finding)
            for finding in found:
                object_arn, url = _object(c, finding)
                count = _detected(finding, identifier)
                plural = "s" if count > 1 else ""
                reason = f"Macie found {what} in {url} ({count} occurrence{plural}; finding {finding.resource_id})"
                yield c.failed(finding, reason, also=[listing], resource_id=object_arn, resource_type="s3-object")
            yield from errors
            if found or errors:
                continue
            if listing is None:
                state = str(session.payload.get("status") or "not enabled").lower()
                reason = f"cannot decide: Macie is {state} here, so nothing looks for {what} in this region's buckets"
                yield c.error(session, reason + " (macie.enabled fails)")
                continue
            yield _no_findings(c, account_id, region, identifier, what, listing, session)


def _no_findings(
    c: Check, account_id: str, region: str, identifier: str, what: str, listing: EvidenceRecord, session: EvidenceRecord
) -> Finding:
    """No finding of the identifier: a pass only where automated discovery looks for it."""
    place = {"resource_id": setting_id(account_id, region, "macie"), "resource_type": "macie-session"}
    discovery = c.setting(DISCOVERY, account_id, region, what="Macie's automated discovery configuration", **place)
    status = str(discovery.payload.get("status") or "not configured").lower()
    if status != "enabled":
        reason = (
            f"cannot decide: Macie's automated sensitive data discovery is {status} here, so finding no {what} "
            "proves nothing (supply the results of the classification jobs that cover the buckets)"
        )
        return c.error(discovery, reason, also=[listing, session], **place)
    template = c.setting(TEMPLATE, account_id, region, what="Macie's sensitivity inspection template", **place)
    excluded = (template.payload.get("excludes") or {}).get("managedDataIdentifierIds") or []
    if identifier in excluded:
        reason = f"cannot decide: automated discovery excludes {identifier}, so Macie does not look for {what}"
        return c.error(template, reason, also=[listing, discovery, session], **place)
    reason = f"Macie's automated discovery looks for {what} ({identifier}) and no active finding reports any"
    return c.passed(listing, reason, also=[discovery, template, session], **place)


@custom(kinds=(SESSION, DISCOVERY, TEMPLATE, SAD), regional=True)
def no_full_track_data_stored(c: Check) -> Iterator[Finding]:
    yield from _sad(c, "CREDIT_CARD_MAGNETIC_STRIPE", "full track (magnetic stripe) data")


@custom(kinds=(SESSION, DISCOVERY, TEMPLATE, SAD), regional=True)
def no_card_verification_codes_stored(c: Check) -> Iterator[Finding]:
    yield from _sad(c, "CREDIT_CARD_SECURITY_CODE", "card verification codes")
