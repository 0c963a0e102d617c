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
    expected_evidence: str | None = Field(default=None, description="What an auditor expects the customer to show.")
    customer_attestation: str | None = Field(
        default=None, description="An inherited control's optional customer statement, e.g. no in-scope facilities."
    )
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
    status: str = Field(description="pass | fail | excepted | incomplete | not_applicable")
    passed: int
    failed: int
    errors: int
    not_applicable: int
    stale: int
    excepted: int = Field(description="Failing findings an approved, unexpired exception covers.")


class CustomerEvidenceOut(Model):
    state: str = Field(description="not_needed | needed | submitted | approved | expired")
    items: list[int] = Field(description="Approved, unexpired evidence items supporting the control.")
    submitted: list[int] = Field(description="Items awaiting review.")
    expired: list[int] = Field(description="Approved items past their validity.")


class ControlStatusOut(Model):
    control_id: str
    title: str
    family_id: str
    heading: bool
    automation: str
    overall_responsibility: str
    responsibility: dict[str, str]
    status: str = Field(
        description="The overall status: met | not_met | excepted | evidence_needed | incomplete | inherited | "
        "not_applicable (rules in docs/frameworks.md)"
    )
    status_reason: str
    automated: str = Field(
        description="The automated result: pass | fail | excepted | incomplete | not_applicable | none"
    )
    customer_evidence: CustomerEvidenceOut
    exceptions: list[int] = Field(description="Exceptions that excepted at least one of its failing findings.")
    passed: int
    failed: int
    excepted: int = Field(description="Resources whose every failure is excepted.")
    checks: list[CheckVerdictOut]
    aws_evidence: list[AwsEvidenceOut]
    guidance: str | None
    expected_evidence: str | None = Field(description="What an auditor expects the customer to show.")
    customer_attestation: str | None = Field(
        default=None,
        description="An inherited control's optional customer statement (e.g. no in-scope facilities); the items "
        "attesting it are in customer_evidence.",
    )


class ExpiringOut(Model):
    id: int
    title: str = Field(description="The item's title; for an exception, its scope.")
    expires_at: datetime
    controls: list[str]


class ExpiringListsOut(Model):
    within_days: int
    items: list[ExpiringOut]
    exceptions: list[ExpiringOut]


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
    by_status: dict[str, int] = Field(description="Requirements (headings excluded) by overall status.")
    by_responsibility: dict[str, int]
    controls: list[ControlStatusOut]
    expiring: ExpiringListsOut = Field(description="Approved items and exceptions expiring within 30 days of as_of.")
    accounts: list[str] = Field(description="The accounts evaluated (empty: every account of the run).")
    warnings: list[str] = Field(description="E.g. no complete or partial run at or before as_of.")
