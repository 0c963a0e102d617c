from __future__ import annotations

from datetime import datetime

from pydantic import Field, StrictInt

from api.schemas.common import Model, StrictInput
from api.schemas.types import Note


class GrantRequest(StrictInput):
    expires_in_days: StrictInt = Field(ge=1, le=365, description="The auditor token expires after this many days.")
    note: Note | None = Field(
        default=None, description="Who the grant is for, e.g. the audit firm: one line, at most 256 characters."
    )


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
