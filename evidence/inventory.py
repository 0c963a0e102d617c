"""Which services are in use: counts per account, region and service type, from the collectors' listings."""

from __future__ import annotations

from collections import Counter

from evidence.checks.types import SERVICE_TYPES, ServiceUsage
from evidence.store import EvidenceStore

# The evidence kind whose listing counts each service type's resources.
LISTED_KIND = {
    "ec2": "ec2.instance",
    "rds": "rds.db_instance",
    "lambda": "lambda.function",
    "s3": "s3.bucket",
    "eks": "eks.cluster",
    "dynamodb": "dynamodb.table",
    "ecs": "ecs.cluster",
}
_SERVICE_OF = {kind: service for service, kind in LISTED_KIND.items()}
if set(LISTED_KIND) != set(SERVICE_TYPES):  # pragma: no cover - a contract check at import
    raise RuntimeError("inventory.LISTED_KIND must cover every service type")


def service_usage(store: EvidenceStore, run_id: int) -> ServiceUsage:
    """Resources per (account, region, service type). S3 buckets count in their own region (in "global" when
    it could not be read). A listing that failed is reported in `unknown`, never as zero: a gap is never read
    as 'not in use'."""
    bucket_region = {(r.account_id, r.resource_id): r.region for r in store.iter_evidence(run_id, kinds=["s3.bucket"])}
    counts: Counter[tuple[str, str, str]] = Counter()
    for record in store.iter_evidence(run_id, kinds=["listing"]):
        service = _SERVICE_OF.get(record.resource_type)
        if service == "s3":
            for arn in record.payload.get("resource_ids", []):
                counts[(record.account_id, bucket_region.get((record.account_id, arn), record.region), service)] += 1
        elif service is not None:
            counts[(record.account_id, record.region, service)] += int(record.payload.get("count", 0))
    unknown = {
        (gap.account_id, gap.region, _SERVICE_OF[gap.kind])
        for gap in store.gaps(run_id)
        if gap.kind in _SERVICE_OF and gap.resource_id is None
    }
    return ServiceUsage(counts=dict(counts), unknown=frozenset(unknown))
