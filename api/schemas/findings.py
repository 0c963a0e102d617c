from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.schemas.common import Model


class FindingOut(Model):
    id: int
    run_id: int
    check_id: str
    status: str = Field(description="pass | fail | not_applicable | error (error: the evidence was a gap)")
    account_id: str
    region: str
    resource_id: str
    resource_type: str
    reason: str
    evidence: list[str] = Field(description="sha256 of every evidence payload the verdict rests on.")
    observed_at: datetime | None
    owner: str | None


class FindingPage(Model):
    run_id: int | None = Field(description="The run these findings come from (null: no complete or partial run yet).")
    items: list[FindingOut]
    next_cursor: str | None
