"""Control status over a period (`GET /v1/frameworks/{id}/history`): the shapes of docs/frameworks.md, "Status
over a period", as `auditpack status --from --to --format json` prints them (frameworks.period_render)."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from api.schemas.common import Model


class CaptureOut(Model):
    run_id: int
    observed_at: dt.datetime = Field(description="When the run was sealed: the moment the status is evaluated at.")
    status: str = Field(description="The run's status: complete or partial.")
    digest: str | None = Field(description="The run's chain digest.")


class UnusableRunOut(Model):
    id: int
    status: str = Field(description="failed or interrupted: never a capture.")
    finished_at: dt.datetime | None


class StreakOut(Model):
    days: int
    controls: list[str]


class HistoryEntryOut(Model):
    run_id: int
    observed_at: dt.datetime = Field(description="When the capture's run was sealed.")
    status: str = Field(description="The control's overall status at this capture.")


class FailureOut(Model):
    first_failed_at: dt.datetime
    first_run_id: int
    last_failed_at: dt.datetime
    last_run_id: int
    streak_days: int = Field(description="Calendar days from the first failing capture's day to the last's.")
    remediated_at: dt.datetime | None = Field(
        description="The first capture after the last failing one where the control is met or its checks pass."
    )
    remediated_run_id: int | None
    time_to_remediation_seconds: int | None = Field(description="From the first failing capture to remediated_at.")


class OperationOut(Model):
    captures: int
    met: int
    failed: int
    excepted: int
    incomplete: int
    by_status: dict[str, int]
    first_failure: dt.datetime | None
    last_failure: dt.datetime | None
    longest_failing_streak_days: int
    failures: list[FailureOut]
    uncovered_days: list[dt.date] = Field(
        description="Days nothing shows the control operating: without a capture (controls with checks) or without "
        "approved, valid customer evidence (controls the organisation evidences)."
    )
    days_without_evidence: list[dt.date] | None = Field(
        description="Days not wholly covered by approved, valid customer evidence; null when none is needed."
    )


class ControlHistoryOut(Model):
    control_id: str
    title: str
    family_id: str
    heading: bool
    history: list[HistoryEntryOut]
    operation: OperationOut


class FrameworkHistoryPage(Model):
    framework_id: str
    name: str
    version: str
    from_: dt.date = Field(serialization_alias="from")
    to: dt.date
    captures: str = Field(description="all or daily: which runs of the period were evaluated.")
    runs: list[CaptureOut] = Field(description="The captures, oldest first.")
    days: int
    days_without_capture: list[dt.date]
    unusable_runs: list[UnusableRunOut]
    requirements_failed: int = Field(description="Requirements not met at one capture or more.")
    longest_failing_streak: StreakOut
    items: list[ControlHistoryOut] = Field(description="Controls in catalog order, one page of them.")
    next_cursor: str | None
