"""The customer-evidence contract between `evidence` (which stores it) and `frameworks` / `reports` / `api` (which
evaluate, render and serve it). Frozen dataclasses; extend with new fields, do not rename.

States are never stored in place: every change is an appended, chained review event, and the state of an item or
exception *as of* a moment is the last event at or before it. `expired` is never stored: it follows from
`valid_until` (items) or `expires_at` (exceptions) and the as-of time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from evidence.checks.types import Finding, FindingStatus
from evidence.customer.states import ExceptionState as ExceptionState
from evidence.customer.states import ItemKind as ItemKind
from evidence.customer.states import ItemState as ItemState


@dataclass(frozen=True, slots=True, order=True)
class ControlRef:
    """A control of a loaded catalog, written `framework:control_id`, e.g. `hipaa:164.308(a)(1)(ii)(A)`."""

    framework: str
    control_id: str

    def __str__(self) -> str:
        return f"{self.framework}:{self.control_id}"


@dataclass(frozen=True, slots=True)
class ReviewEvent:
    """One appended state change of an item or exception."""

    id: int
    state: str  # an ItemState or ExceptionState value (never `expired`)
    actor: str
    at: datetime
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class CustomerItem:
    id: int
    kind: ItemKind
    title: str
    controls: tuple[ControlRef, ...]
    owner: str
    submitted_by: str
    submitted_at: datetime
    valid_from: datetime
    valid_until: datetime
    content_sha256: str  # the document, the attestation statement (UTF-8) or the captured record
    media_type: str  # sniffed from the bytes, never taken from the client
    size: int
    filename: str | None  # sanitised, for display only
    supersedes: int | None  # the earlier version this one replaces
    statement_by: str | None = None  # attestation: "Name, role"
    record_url: str | None = None  # record: where it lives
    events: tuple[ReviewEvent, ...] = ()  # oldest first; the first is `submitted`
    # The newer version that replaces this one (`supersedes` points back). When that version is approved this one
    # gets a `retracted` event ("superseded by item N"), so state_as_of needs no special case.
    superseded_by: int | None = None
    import_path: str | None = None  # `evidence import`: the file's path in the imported folder

    def state_as_of(self, moment: datetime) -> ItemState | None:
        """The state at `moment` (None: not yet submitted then). Approved past `valid_until` reads `expired`."""
        state: ItemState | None = None
        for event in self.events:
            if event.at <= moment:
                state = ItemState(event.state)
        if state is ItemState.APPROVED and moment >= self.valid_until:
            return ItemState.EXPIRED
        return state

    def approved_at(self, moment: datetime) -> bool:
        """Approved and within its validity at `moment`: evidence a control may rest on."""
        return self.state_as_of(moment) is ItemState.APPROVED and self.valid_from <= moment


@dataclass(frozen=True, slots=True)
class RiskException:
    """A risk acceptance: failing findings it matches read `excepted` while it is approved and unexpired.

    Scope: a check (all its resources, some resource ids, or one account) or a whole control.
    """

    id: int
    check_id: str | None
    control: ControlRef | None
    resource_ids: tuple[str, ...]  # empty: every resource (of the account, when account_id is set)
    account_id: str | None
    justification: str
    compensating: str
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    events: tuple[ReviewEvent, ...] = ()

    def state_as_of(self, moment: datetime) -> ExceptionState | None:
        state: ExceptionState | None = None
        for event in self.events:
            if event.at <= moment:
                state = ExceptionState(event.state)
        if state is ExceptionState.APPROVED and moment >= self.expires_at:
            return ExceptionState.EXPIRED
        return state

    def active_at(self, moment: datetime) -> bool:
        return self.state_as_of(moment) is ExceptionState.APPROVED

    def matches(self, finding: Finding) -> bool:
        """Whether this exception's scope covers `finding` (by check; control-scoped ones are matched by the
        framework evaluation, which knows which checks a control rests on). Only failing findings are ever
        excepted: never a pass, an error or a gap."""
        if finding.status != FindingStatus.FAIL or self.check_id is None or finding.check_id != self.check_id:
            return False
        if self.account_id is not None and finding.account_id != self.account_id:
            return False
        return not self.resource_ids or finding.resource_id in self.resource_ids


@dataclass(frozen=True, slots=True)
class CustomerEvidence:
    """Every item and exception (with their full history) a status or packet is evaluated against."""

    items: tuple[CustomerItem, ...] = ()
    exceptions: tuple[RiskException, ...] = ()
