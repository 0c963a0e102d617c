from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.schemas.common import Model, StrictInput


class GrantRequest(StrictInput):
    expires_in_days: int = Field(ge=1, le=365, description="The auditor token expires after this many days.")
    note: str | None = Field(default=None, max_length=256, description="Who the grant is for, e.g. the audit firm.")


class GrantOut(Model):
    id: int
    packet_id: str
    token_id: int
    expires_at: datetime
    note: str | None
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


class GrantCreated(GrantOut):
    token: str = Field(description="The auditor's bearer token. Shown once; only its hash is stored.")


class GrantList(Model):
    items: list[GrantOut]
