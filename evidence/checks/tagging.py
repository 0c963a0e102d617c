"""The tagging.* checks: data stores carry a classification (metadata in tagging.yaml)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from evidence.checks._classification import classification
from evidence.checks.types import Finding
from evidence.checks.unit import Check, custom
from evidence.checks.verdicts import gap_error
from evidence.store import EvidenceRecord

BUCKET, DB_INSTANCE, TABLE, TABLE_TAGS = "s3.bucket", "rds.db_instance", "dynamodb.table", "dynamodb.table_tags"


def _classified(c: Check, store: EvidenceRecord, tags: object, also: Iterable[EvidenceRecord] = ()) -> Finding:
    keys = c.thresholds.classification_tag_keys
    found = classification(tags, keys)
    if found:
        return c.passed(store, f"classified {found[1]} ({found[0]})", also=also)
    return c.failed(store, f"no classification tag (one of {', '.join(keys)})", also=also)


@custom(kinds=(BUCKET, DB_INSTANCE, TABLE, TABLE_TAGS), regional=True)
def data_classification(c: Check) -> Iterator[Finding]:
    """One finding per data store (S3 bucket, RDS instance, DynamoDB table): it carries a classification tag."""
    for bucket in c.records(BUCKET, resource_type="bucket", what="bucket details", regional=False):
        if bucket.payload.get("Tags") is not None:
            yield _classified(c, bucket, bucket.payload["Tags"])
            continue
        # The tagging read failed: a gap, never "untagged".
        gaps = c.view.gaps(BUCKET, account_id=bucket.account_id, resource_id=bucket.resource_id)
        if gaps:
            yield gap_error(
                c.id,
                gaps[0],
                resource_id=bucket.resource_id,
                resource_type="bucket",
                owner=bucket.owner,
                evidence=[bucket],
            )
        else:
            yield c.error(bucket, "cannot decide: the bucket's tags were not read")
    for db in c.records(DB_INSTANCE, resource_type="db-instance", what="DB instance details"):
        yield _classified(c, db, db.payload.get("TagList") or [])
    for table in c.listed(TABLE, resource_type="table"):
        with c.item():
            tags = c.need(
                TABLE_TAGS, base=table.listing, resource_id=table.resource_id, resource_type="table", what="table tags"
            )
            yield _classified(c, tags, tags.payload.get("Tags"), also=[table.listing])
