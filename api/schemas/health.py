from __future__ import annotations

from pydantic import BaseModel, Field


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str = Field(description="ready | unavailable")
    database: str = Field(description="ok | unreachable")
    data_dir: str = Field(description="ok | unwritable (packets cannot be written)")
