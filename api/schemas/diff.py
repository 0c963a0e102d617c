from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from api.schemas.common import Model


class DiffRunOut(Model):
    id: int
    status: str
    started_at: datetime
    finished_at: datetime | None
    digest: str | None


class PlaceOut(Model):
    account_id: str
    region: str


class FieldChangeOut(Model):
    path: str = Field(description="Where in the payload, e.g. `Tags[Key=Owner].Value` or `IpPermissions[]`.")
    op: str = Field(description="added | removed | changed")
    before: Any = None
    after: Any = None


class EvidenceChangeOut(Model):
    kind: str
    change: str = Field(description="added | removed | changed | unread_before | unread_now (a gap in that run)")
    before_sha256: list[str]
    after_sha256: list[str]
    lines: list[str] = Field(description="What changed, in words, e.g. `IpPermissions: added tcp 22 from 0.0.0.0/0`.")
    fields: list[FieldChangeOut]


class FindingChangeOut(Model):
    check_id: str
    change: str = Field(description="newly_failing | resolved | still_failing | unverified")
    before: str | None = Field(description="The check's status in the older run (null: no finding).")
    after: str | None
    reason: str


class ChangeEventOut(Model):
    event_time: str
    event_name: str
    event_source: str
    actor_arn: str | None
    actor_type: str | None
    source_ip: str | None
    user_agent: str | None
    error_code: str | None = Field(description="Set when AWS refused the call: an attempt, not a change.")
    event_id: str | None


class ChangedByOut(Model):
    status: str = Field(description="found | none | failed (the lookup could not be made: a gap) | not_looked_up")
    actors: list[str]
    events: list[ChangeEventOut]
    window_start: str | None
    window_end: str | None
    unavailable_before: str | None = Field(description="Events before this cannot be looked up (90 days).")
    truncated: bool
    message: str | None
    evidence_sha256: str | None = Field(description="The newer run's evidence item the events come from.")


class ResourceChangeOut(Model):
    account_id: str
    region: str
    resource_id: str
    resource_type: str
    change: str = Field(description="added | removed | changed | unchanged (listed for its findings) | unread")
    evidence: list[EvidenceChangeOut]
    findings: list[FindingChangeOut]
    changed_by: ChangedByOut | None = Field(description="Who changed it (CloudTrail), as the newer run recorded it.")


class DiffPage(Model):
    from_run: DiffRunOut
    to_run: DiffRunOut
    findings_compared: bool = Field(description="False when a run has no stored findings (not evaluated).")
    places_only_in_from: list[PlaceOut] = Field(description="Account and region pairs only the older run holds.")
    places_only_in_to: list[PlaceOut]
    items: list[ResourceChangeOut]
    next_cursor: str | None


class ControlChangeOut(Model):
    control_id: str
    title: str
    before: str
    after: str
    reason: str
    causes: list[str]


class CustomerChangeOut(Model):
    kind: str = Field(description="item | exception")
    id: int
    title: str
    event: str = Field(description="created | approved | rejected | revoked | retracted | expired")
    at: datetime
    actor: str | None
    controls: list[str]


class ControlDiff(Model):
    framework: str
    from_run: DiffRunOut
    to_run: DiffRunOut
    compared: bool
    note: str | None
    control_changes: list[ControlChangeOut]
    customer_changes: list[CustomerChangeOut]
