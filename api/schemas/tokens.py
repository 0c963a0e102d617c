from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.models import Role
from api.schemas.common import Model, StrictInput
from api.schemas.types import Note


class TokenRequest(StrictInput):
    role: Role
    expires: str = Field(
        default="90d",
        pattern=r"^(never|[0-9]{1,5}[mhdw])$",  # ASCII digits: \d would take Arabic-Indic or fullwidth ones
        description="Lifetime, e.g. 30d, 12h; never (not auditors).",
    )
    note: Note | None = Field(
        default=None, description="Who or what the token is for: one line, at most 256 characters."
    )


class TokenOut(Model):
    id: int
    hint: str = Field(description="The first characters of the secret, to recognise it.")
    role: str
    note: str | None
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    packet_id: str | None


class TokenCreated(TokenOut):
    token: str = Field(description="The bearer token. Shown once; only its hash is stored.")


class TokenList(Model):
    items: list[TokenOut]
