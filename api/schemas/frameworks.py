from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.schemas.common import Model


class FrameworkOut(Model):
    id: str
    name: str
    version: str
    publisher: str
    description: str
    control_count: int


class FrameworkList(Model):
    items: list[FrameworkOut]


class CheckRefOut(Model):
    id: str
    relevance: str


class AwsEvidenceOut(Model):
    name: str
    covers: str
    source: str


class ControlOut(Model):
    id: str
    family: str
    title: str
    description: str
    automation: str | None
    responsibility: dict[str, str] = Field(description="Per service type, with a 'default' entry.")
    checks: list[CheckRefOut]
    aws_evidence: list[AwsEvidenceOut]
    guidance: str | None
    requirement_type: str | None
    parent: str | None
    level: int | None
    scope: str | None
    heading: bool


class ControlList(Model):
    framework_id: str
    items: list[ControlOut]


class RunRefOut(Model):
    id: int
    status: str
    started_at: datetime
    finished_at: datetime | None
    digest: str | None


class CheckVerdictOut(Model):
    check_id: str
    title: str
    severity: str
    passed: int
    failed: int
    errors: int
    not_applicable: int
    stale: int


class ControlStatusOut(Model):
    control_id: str
    title: str
    family_id: str
    automation: str
    overall_responsibility: str
    responsibility: dict[str, str]
    status: str = Field(description="pass | fail | partial-evidence | manual | inherited | not_applicable")
    status_reason: str
    passed: int
    failed: int
    checks: list[CheckVerdictOut]
    aws_evidence: list[AwsEvidenceOut]
    guidance: str | None


class FrameworkStatusOut(Model):
    framework_id: str
    name: str
    version: str
    as_of: datetime
    runs: list[RunRefOut]
    services_in_use: list[str]
    gap_count: int
    stale_count: int
    freshness_hours: int
    by_status: dict[str, int]
    by_responsibility: dict[str, int]
    controls: list[ControlStatusOut]
    accounts: list[str] = Field(description="The accounts evaluated (empty: every account of the run).")
    warnings: list[str] = Field(description="E.g. no complete or partial run at or before as_of.")
