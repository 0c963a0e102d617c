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
