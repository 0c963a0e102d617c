from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, StrictBool

from api.schemas.common import Model, StrictInput
from api.schemas.types import AccountId, Region

__all__ = ["AccountId", "Region"]  # packets' scope takes the same account ids


class RunRequest(StrictInput):
    accounts: list[AccountId] = Field(
        default_factory=list,
        max_length=1000,
        description="12-digit account ids to collect from (empty: the service's configured accounts, "
        "AUDITPACK_ACCOUNTS / AUDITPACK_ORG, else its own account).",
    )
    regions: list[Region] = Field(
        default_factory=list,
        max_length=64,
        description="Regions, e.g. us-east-1 (empty: AUDITPACK_REGIONS, else every enabled region).",
    )
    organization: StrictBool = Field(
        default=False, description="Collect every ACTIVE account of the AWS Organization (not with accounts)."
    )
    role_name: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_+=,.@-]{1,64}$",  # IAM's [\w+=,.@-] means ASCII word characters
        description="Role assumed in other accounts (default: the service's AUDITPACK_ROLE_NAME).",
    )


class JobOut(Model):
    id: int
    kind: str = Field(description="collect | packet")
    status: str = Field(description="queued | running | done | failed | interrupted")
    error: str | None
    attempts: int
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: dict[str, Any] = Field(description="collect: {run_id}; packet: {packet_id, pdf_sha256}")
    run_id: int | None = Field(default=None, description="The run a finished collect job produced.")
    packet_id: str | None = Field(default=None, description="The packet a packet job builds.")


class JobPage(Model):
    items: list[JobOut]
    next_cursor: str | None


class GapOut(Model):
    account_id: str
    region: str
    service: str
    operation: str
    kind: str | None
    resource_id: str | None
    error_code: str
    message: str
    observed_at: datetime


class RunOut(Model):
    id: int
    trigger: str
    requested_by: str | None = Field(description="Who started it; null for auditors.")
    scope: dict[str, Any] = Field(
        description="What was collected. Auditors see only `accounts` (their packets' accounts) and `regions`."
    )
    status: str = Field(description="running | complete | partial | failed | interrupted")
    started_at: datetime
    finished_at: datetime | None
    evidence_count: int = Field(description="Evidence items (auditors: of their packets' accounts only).")
    gap_count: int = Field(description="Gaps (auditors: of their packets' accounts only).")
    error: str | None = Field(description="Why the run failed; null for auditors.")
    digest: str | None = Field(description="The run's hash-chain digest, once sealed.")
    previous_digest: str | None


class RunDetail(RunOut):
    gaps: list[GapOut] = Field(description="What could not be read, in recording order (the first 1000).")
    gaps_truncated: bool


class RunPage(Model):
    items: list[RunOut]
    next_cursor: str | None
