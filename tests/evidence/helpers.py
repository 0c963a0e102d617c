"""Small builders for store tests."""

from __future__ import annotations

from typing import Any

from evidence.models import Run, RunStatus
from evidence.store import EvidenceStore


def record_run(
    store: EvidenceStore,
    items: list[dict[str, Any]],
    *,
    gaps: list[dict[str, Any]] | None = None,
    status: RunStatus | None = None,
) -> Run:
    """Start a run, record `items` (payloads) and `gaps`, and seal it."""
    run = store.start_run(trigger="cli", requested_by="tests", scope={"accounts": ["111111111111"]})
    with store.recorder(run.id) as recorder:
        for index, payload in enumerate(items):
            recorder.add(
                account_id="111111111111",
                region="us-east-1",
                service="s3",
                resource_type="bucket",
                resource_id=f"arn:aws:s3:::bucket-{index}",
                kind="s3.bucket_encryption",
                payload=payload,
                owner="platform",
            )
        for gap in gaps or []:
            recorder.add_gap(
                account_id="111111111111",
                region="eu-west-1",
                service="s3",
                operation=gap.get("operation", "GetBucketEncryption"),
                error_code=gap.get("error_code", "AccessDenied"),
                message=gap.get("message", "not authorized"),
                kind="s3.bucket_encryption",
            )
    return store.finish_run(run.id, status=status)


def replay_run(source: EvidenceStore, run_id: int, target: EvidenceStore) -> Run:
    """Record a stored run's evidence and gaps again into `target` (any backend) and seal it, unevaluated:
    a realistic estate on PostgreSQL too, without collecting it again."""
    original = source.get_run(run_id)
    run = target.start_run(trigger="cli", requested_by="tests", scope=original.scope)
    with target.recorder(run.id) as recorder:
        for item in source.iter_evidence(run_id):
            recorder.add(
                account_id=item.account_id,
                region=item.region,
                service=item.service,
                resource_type=item.resource_type,
                resource_id=item.resource_id,
                kind=item.kind,
                payload=item.payload,
                observed_at=item.observed_at,
                owner=item.owner,
            )
        for gap in source.gaps(run_id):
            recorder.add_gap(
                account_id=gap.account_id,
                region=gap.region,
                service=gap.service,
                operation=gap.operation,
                error_code=gap.error_code,
                message=gap.message,
                kind=gap.kind,
                resource_id=gap.resource_id,
                observed_at=gap.observed_at,
            )
    return target.finish_run(run.id)
