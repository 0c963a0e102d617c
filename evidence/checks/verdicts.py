"""Building findings: verdicts resting on evidence, errors resting on gaps, and the coverage rule that a
listing which was never completed yields an error, never silence."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from evidence.checks.types import Finding, FindingStatus
from evidence.checks.view import GLOBAL, EvidenceView, GapRecord
from evidence.store import EvidenceRecord

PASS, FAIL, NA, ERROR = FindingStatus.PASS, FindingStatus.FAIL, FindingStatus.NOT_APPLICABLE, FindingStatus.ERROR


def listing_id(account_id: str, region: str, kind: str) -> str:
    return f"{account_id}/{region}/{kind}"


def setting_id(account_id: str, region: str, name: str) -> str:
    return f"{account_id}/{name}" if region == GLOBAL else f"{account_id}/{region}/{name}"


def verdict(
    check_id: str,
    status: FindingStatus,
    record: EvidenceRecord,
    reason: str,
    *,
    also: Iterable[EvidenceRecord | None] = (),
    resource_id: str | None = None,
    resource_type: str | None = None,
    region: str | None = None,
) -> Finding:
    """A finding about `record`'s resource, resting on it and on `also`."""
    basis = [record, *(r for r in also if r is not None)]
    shas = tuple(dict.fromkeys(r.sha256 for r in basis))
    return Finding(
        check_id=check_id,
        status=status,
        account_id=record.account_id,
        region=region or record.region,
        resource_id=resource_id or record.resource_id,
        reason=reason,
        evidence=shas,
        observed_at=min(r.observed_at for r in basis),
        owner=record.owner,
        resource_type=resource_type or record.resource_type,
    )


def gap_error(
    check_id: str,
    gap: GapRecord,
    *,
    resource_id: str,
    resource_type: str,
    region: str | None = None,
    account_id: str | None = None,
    owner: str | None = None,
    evidence: Iterable[EvidenceRecord | None] = (),
) -> Finding:
    """`error`: the evidence the check needs is a gap. `observed_at` is when the failed read was made."""
    return Finding(
        check_id=check_id,
        status=ERROR,
        account_id=account_id or gap.account_id,
        region=region or gap.region,
        resource_id=resource_id,
        reason=f"evidence missing: {gap.describe()}",
        evidence=tuple(dict.fromkeys(r.sha256 for r in evidence if r is not None)),
        observed_at=gap.observed_at,
        owner=owner,
        resource_type=resource_type,
    )


def missing_error(
    check_id: str,
    *,
    account_id: str,
    region: str,
    resource_id: str,
    resource_type: str,
    what: str,
    owner: str | None = None,
    evidence: Iterable[EvidenceRecord | None] = (),
) -> Finding:
    """`error`: the evidence the check needs was not collected and no gap explains why."""
    basis = [r for r in evidence if r is not None]
    return Finding(
        check_id=check_id,
        status=ERROR,
        account_id=account_id,
        region=region,
        resource_id=resource_id,
        reason=f"evidence missing: no {what} was collected",
        evidence=tuple(dict.fromkeys(r.sha256 for r in basis)),
        observed_at=min((r.observed_at for r in basis), default=None),
        owner=owner,
        resource_type=resource_type,
    )


def needed(
    view: EvidenceView,
    check_id: str,
    kind: str,
    *,
    account_id: str,
    resource_id: str,
    resource_type: str,
    region: str,
    what: str,
    base: EvidenceRecord | None = None,
) -> EvidenceRecord | Finding:
    """The evidence of `kind` about a resource, or the error finding that stands in for it."""
    record = view.one(kind, account_id, resource_id)
    if record is not None:
        return record
    owner = base.owner if base else None
    gaps = view.gaps(kind, account_id=account_id, resource_id=resource_id) or view.collector_gaps(account_id, region)
    if gaps:
        return gap_error(
            check_id,
            gaps[0],
            resource_id=resource_id,
            resource_type=resource_type,
            region=region,
            account_id=account_id,
            owner=owner,
            evidence=[base],
        )
    return missing_error(
        check_id,
        account_id=account_id,
        region=region,
        resource_id=resource_id,
        resource_type=resource_type,
        what=what,
        owner=owner,
        evidence=[base],
    )


def place_setting(
    view: EvidenceView,
    check_id: str,
    kind: str,
    *,
    account_id: str,
    region: str,
    resource_id: str,
    resource_type: str,
    what: str,
) -> EvidenceRecord | Finding:
    """The single evidence item of `kind` for (account, region), or the error finding that stands in for it."""
    records = view.at(kind, account_id, region)
    if records:
        return records[0]
    gaps = view.gaps(kind, account_id=account_id, region=region) or view.collector_gaps(account_id, region)
    if gaps:
        return gap_error(
            check_id,
            gaps[0],
            resource_id=resource_id,
            resource_type=resource_type,
            region=region,
            account_id=account_id,
        )
    return missing_error(
        check_id, account_id=account_id, region=region, resource_id=resource_id, resource_type=resource_type, what=what
    )


def coverage_errors(
    view: EvidenceView, check_id: str, kind: str, *, regional: bool, resource_type: str
) -> Iterator[Finding]:
    """An error for every place (account, or account and region) where the listing of `kind` did not complete."""
    places = view.targets() if regional else [(account, GLOBAL) for account in view.accounts()]
    for account_id, region in places:
        if view.listing(kind, account_id, region) is not None:
            continue
        resource_id = listing_id(account_id, region, kind)
        gaps = view.gaps(kind, account_id=account_id, region=region, resource_id=None) or view.collector_gaps(
            account_id, region
        )
        if gaps:
            yield gap_error(
                check_id,
                gaps[0],
                resource_id=resource_id,
                resource_type=resource_type,
                region=region,
                account_id=account_id,
            )
        else:
            yield missing_error(
                check_id,
                account_id=account_id,
                region=region,
                resource_id=resource_id,
                resource_type=resource_type,
                what=f"listing of {kind}",
            )


def listed_records(
    view: EvidenceView, check_id: str, kind: str, *, resource_type: str, what: str, regional: bool = True
) -> Iterator[EvidenceRecord | Finding]:
    """Every resource of `kind` that a completed listing names, with its evidence or the error standing in for
    it, plus an error for every place whose listing did not complete: nothing listed is ever skipped."""
    yield from coverage_errors(view, check_id, kind, regional=regional, resource_type=resource_type)
    for listed in view.listed(kind):
        record = view.one(kind, listed.account_id, listed.resource_id)
        if record is not None:
            yield record
        else:
            yield needed(
                view,
                check_id,
                kind,
                account_id=listed.account_id,
                resource_id=listed.resource_id,
                resource_type=resource_type,
                region=listed.region,
                what=what,
                base=listed.listing,
            )
