"""What a diff of two runs says, resource by resource: the contract between `evidence.diff` (which computes it) and
the CLI, the API, packets and notifications (which render it). Frozen dataclasses; extend, do not rename.

A resource is (account, region, resource id). Between the *from* run (older) and the *to* run (newer) it is
- `added`: evidence of it only in the to-run, and the from-run could read what it would have held;
- `removed`: evidence only in the from-run, and the to-run could read where it would be (a resource the to-run
  could not read because of a gap is `unread`, never `removed`);
- `changed`: an evidence item of it was added, removed or has another payload;
- `unchanged`: same evidence (reported only for its findings: one still failing, say);
- `unread`: its evidence differs only where one of the runs has a gap.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from evidence.diff.fields import FieldChange

# The evidence kind of who changed a resource (CloudTrail events a run looked up: evidence.changes).
CHANGE_EVENTS = "cloudtrail.change_events"


class ResourceChange(enum.StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    UNREAD = "unread"


class ItemChange(enum.StrEnum):
    """What happened to one evidence kind of a resource."""

    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"
    UNREAD_BEFORE = "unread_before"  # only in the to-run, where the from-run had a gap
    UNREAD_NOW = "unread_now"  # only in the from-run, where the to-run has a gap


class FindingChangeKind(enum.StrEnum):
    NEWLY_FAILING = "newly_failing"  # fails now, did not fail before (a new resource, or it passed)
    RESOLVED = "resolved"  # failed before; passes now, no longer applies, or the resource is gone
    STILL_FAILING = "still_failing"
    UNVERIFIED = "unverified"  # failed before; now an error (a gap) or not evaluated: not known to be resolved


@dataclass(frozen=True, slots=True)
class KindChange:
    kind: str
    change: ItemChange
    before: tuple[str, ...] = ()  # sha256 of the from-run's payloads of this kind
    after: tuple[str, ...] = ()  # sha256 of the to-run's payloads
    lines: tuple[str, ...] = ()  # what changed, for a reader (changed items)
    fields: tuple[FieldChange, ...] = ()


@dataclass(frozen=True, slots=True)
class FindingChange:
    check_id: str
    change: FindingChangeKind
    before: str | None  # the check's status on the resource in the from-run (None: no finding)
    after: str | None
    reason: str  # the to-run's reason (the from-run's when the resource is gone)


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    """One CloudTrail management event that wrote to the resource between the two captures."""

    event_time: datetime | str
    event_name: str
    event_source: str
    actor_arn: str | None
    actor_type: str | None
    source_ip: str | None
    user_agent: str | None
    error_code: str | None = None  # set when AWS refused the call: an attempt, not a change
    event_id: str | None = None


@dataclass(frozen=True, slots=True)
class ChangeLookup:
    """What the to-run's CloudTrail lookup found for the resource (`cloudtrail.change_events` evidence), or why it
    found nothing: `failed` (a gap: the lookup could not be made), `not_looked_up` (outside the lookup's bound)."""

    status: str  # found | none | failed | not_looked_up
    events: tuple[ChangeEvent, ...] = ()
    window_start: str | None = None
    window_end: str | None = None
    unavailable_before: str | None = None  # events older than CloudTrail's 90 days cannot be looked up
    truncated: bool = False
    message: str | None = None
    evidence_sha256: str | None = None  # the payload the events were read from (the to-run's evidence)

    @classmethod
    def from_payload(cls, payload: dict[str, Any], sha256: str | None = None) -> ChangeLookup:
        events = tuple(
            ChangeEvent(
                event_time=str(e.get("event_time")),
                event_name=str(e.get("event_name")),
                event_source=str(e.get("event_source") or ""),
                actor_arn=e.get("actor_arn"),
                actor_type=e.get("actor_type"),
                source_ip=e.get("source_ip"),
                user_agent=e.get("user_agent"),
                error_code=e.get("error_code"),
                event_id=e.get("event_id"),
            )
            for e in payload.get("events") or []
            if isinstance(e, dict)
        )
        return cls(
            status="found" if events else "none",
            events=events,
            window_start=payload.get("window_start"),
            window_end=payload.get("window_end"),
            unavailable_before=payload.get("unavailable_before"),
            truncated=bool(payload.get("truncated")),
            evidence_sha256=sha256,
        )

    @property
    def actors(self) -> tuple[str, ...]:
        """Who wrote to the resource (successful calls only), in order of first appearance."""
        return tuple(dict.fromkeys(e.actor_arn for e in self.events if e.actor_arn and not e.error_code))


@dataclass(frozen=True, slots=True)
class ResourceDiff:
    account_id: str
    region: str
    resource_id: str
    resource_type: str
    change: ResourceChange
    kinds: tuple[KindChange, ...] = ()
    findings: tuple[FindingChange, ...] = ()
    lookup: ChangeLookup | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.account_id, self.region, self.resource_id)


@dataclass
class DiffTally:
    """Counts over a whole diff (accumulated as its resources stream by)."""

    resources: Counter[str] = field(default_factory=Counter)
    items: Counter[str] = field(default_factory=Counter)
    findings: Counter[str] = field(default_factory=Counter)
    attributed: int = 0  # resources with at least one actor found

    def observe(self, diff: ResourceDiff) -> ResourceDiff:
        if diff.change is not ResourceChange.UNCHANGED:
            self.resources[diff.change.value] += 1
        for kind in diff.kinds:
            self.items[kind.change.value] += 1
        for finding in diff.findings:
            self.findings[finding.change.value] += 1
        if diff.lookup is not None and diff.lookup.actors:
            self.attributed += 1
        return diff

    def as_dict(self) -> dict[str, Any]:
        return {
            "resources": {c.value: self.resources.get(c.value, 0) for c in ResourceChange if c.value != "unchanged"},
            "evidence_items": {c.value: self.items.get(c.value, 0) for c in ItemChange},
            "findings": {c.value: self.findings.get(c.value, 0) for c in FindingChangeKind},
            "resources_attributed": self.attributed,
        }
