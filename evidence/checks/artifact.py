"""The artifact.* checks (metadata in artifact.yaml): the HIPAA Business Associate Addendum accepted in AWS
Artifact for every account that holds ePHI.

An account holds ePHI when AUDITPACK_EPHI_ACCOUNTS lists it, or when one of its S3 buckets, RDS instances or
DynamoDB tables carries a classification tag (AUDITPACK_CLASSIFICATION_TAG_KEYS, the first present counts) whose
value is one of AUDITPACK_EPHI_CLASSIFICATIONS. An account is judged not to hold ePHI only when every one of those
stores was listed and its tags read; otherwise the check cannot tell, which is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evidence.checks._account import about_account
from evidence.checks.types import Finding
from evidence.checks.unit import Check, Unavailable, per_account
from evidence.checks.verdicts import gap_error, missing_error, setting_id
from evidence.checks.view import GLOBAL
from evidence.store import EvidenceRecord

AGREEMENTS = "artifact.customer_agreements"
BUCKET, DB, TABLE, TABLE_TAGS = "s3.bucket", "rds.db_instance", "dynamodb.table", "dynamodb.table_tags"
# AWS names the addendum "AWS Business Associate Addendum" when one account accepts it and "AWS Organizations
# Business Associate Addendum" when the management account accepts it for every account of the Organization.
BAA_NAME = "business associate addendum"
# Per data store kind: the evidence holding its tags, the payload field they are in, and what it is called.
_STORES = {
    BUCKET: (BUCKET, "Tags", "S3 bucket"),
    DB: (DB, "TagList", "RDS DB instance"),
    TABLE: (TABLE_TAGS, "Tags", "DynamoDB table"),
}


@dataclass
class _Holding:
    """What the account's data stores say about ePHI."""

    ephi: list[tuple[EvidenceRecord, str]] = field(default_factory=list)  # (store, its classification)
    unknown: list[tuple[str, str, str | None, str]] = field(default_factory=list)  # (kind, region, resource, what)
    basis: list[EvidenceRecord] = field(default_factory=list)  # the listings read


def _classification(tags: Any, keys: tuple[str, ...]) -> str | None:
    pairs = {t.get("Key"): t.get("Value") for t in tags if isinstance(t, dict)} if isinstance(tags, list) else {}
    return next((str(pairs[k]) for k in keys if pairs.get(k)), None)


def _holding(c: Check, account_id: str) -> _Holding:
    keys, ephi = c.thresholds.classification_tag_keys, {v.lower() for v in c.thresholds.ephi_classifications}
    regions = [region for account, region in c.view.targets() if account == account_id]
    places = [(BUCKET, GLOBAL), *((kind, region) for region in regions for kind in (DB, TABLE))]
    found = _Holding()
    for kind, region in places:
        tag_kind, tag_field, label = _STORES[kind]
        listing = c.view.listing(kind, account_id, region)
        if listing is None:
            found.unknown.append((kind, region, None, f"listing of {label}s in {region}"))
            continue
        found.basis.append(listing)
        for resource_id in listing.payload.get("resource_ids", []):
            record = c.view.one(tag_kind, account_id, resource_id)
            tags = None if record is None else record.payload.get(tag_field, [] if kind == DB else None)
            if record is None or tags is None:
                found.unknown.append((tag_kind, region, resource_id, f"tags of {resource_id}"))
                continue
            value = _classification(tags, keys)
            if value is not None and value.lower() in ephi:
                found.ephi.append((record, value))
    return found


def _cannot_tell(c: Check, account_id: str, root: str, holding: _Holding) -> Unavailable:
    kind, region, resource_id, what = holding.unknown[0]
    gaps = c.view.gaps(kind, account_id=account_id, resource_id=resource_id) or c.view.collector_gaps(
        account_id, region
    )
    where = {"resource_id": root, "resource_type": "account", "region": GLOBAL, "account_id": account_id}
    if gaps:
        return Unavailable(gap_error(c.id, gaps[0], evidence=holding.basis, **where))
    return Unavailable(missing_error(c.id, what=what, evidence=holding.basis, **where))


@per_account(reads=(AGREEMENTS, BUCKET, DB, TABLE, TABLE_TAGS))
def hipaa_baa_accepted(c: Check, account_id: str) -> Finding:
    root = c.view.account_arn(account_id)
    where = {"resource_id": root, "resource_type": "account", "region": GLOBAL}
    holding = _holding(c, account_id)
    if account_id in c.thresholds.ephi_accounts:
        why = "AUDITPACK_EPHI_ACCOUNTS lists it"
    elif holding.ephi:
        record, value = holding.ephi[0]
        more = f" and {len(holding.ephi) - 1} more" if len(holding.ephi) > 1 else ""
        why = f"{record.resource_id} is classified {value}{more}"
    elif holding.unknown:
        raise _cannot_tell(c, account_id, root, holding)
    else:
        values = ", ".join(c.thresholds.ephi_classifications)
        return c.not_applicable(
            holding.basis[0],
            f"no S3 bucket, RDS instance or DynamoDB table is classified as ePHI ({values}) and "
            "AUDITPACK_EPHI_ACCOUNTS does not list the account",
            also=holding.basis[1:],
            **where,
        )
    with about_account(c.view, account_id):
        agreements = c.account_setting(
            AGREEMENTS,
            account_id,
            resource_id=setting_id(account_id, GLOBAL, "artifact-agreements"),
            resource_type="customer-agreements",
            what="AWS Artifact agreements",
        )
    accepted = [
        a
        for a in agreements.payload.get("customerAgreements") or []
        if BAA_NAME in str(a.get("name", "")).lower() and a.get("state") == "ACTIVE"
    ]
    stores = [record for record, _ in holding.ephi]
    if not accepted:
        reason = (
            f"the account holds ePHI ({why}) and no active Business Associate Addendum applies to it in AWS Artifact"
        )
        return c.failed(agreements, reason, also=stores, **where)
    baa = accepted[0]
    scope = "for the Organization" if baa.get("organizationArn") else "for the account"
    since = str(baa.get("effectiveStart") or "")[:10]
    return c.passed(
        agreements,
        f"the account holds ePHI ({why}) and {baa.get('name')} is accepted in AWS Artifact {scope}"
        + (f", effective {since}" if since else ""),
        also=stores,
        **where,
    )
