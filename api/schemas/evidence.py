from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.schemas.common import Model


class EvidenceOut(Model):
    id: int
    run_id: int
    account_id: str
    region: str
    service: str
    resource_type: str
    resource_id: str
    kind: str = Field(description="What was read, e.g. s3.bucket_encryption.")
    observed_at: datetime
    owner: str | None
    sha256: str = Field(description="SHA-256 of the canonical JSON payload: GET /v1/evidence/{sha256}.")
    canonical_version: int = Field(
        description="How the payload was serialised: 1 auditpack's legacy canonical JSON, 2 RFC 8785 (JCS)."
    )


class EvidencePage(Model):
    items: list[EvidenceOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
