"""Which customer evidence items and exceptions a packet shows, and how each is flagged.

A packet covers a window: an as-of moment, or a period (since..until). States come from the event histories
(`state_as_of`), so a packet for an earlier date sees the states of that date.

- Relied on (listed in "Customer evidence", content attached): as of a moment, items approved and valid then,
  plus items that expired in the 30 days before; over a period, every item approved and valid at any moment of
  it. An item relied on during part of a period keeps its place even if it was later retracted or superseded:
  the auditor sees what the controls rested on, and when that stopped.
- Not relied on (listed by id, title, state and reason; content never attached): items still awaiting review,
  rejected, or retracted/superseded without having been relied on in the window. They show that review happened.
- Exceptions: active at any moment of the window; for an as-of packet the window is the 30 days before it, so
  exceptions that expired or were revoked recently are shown too.

Approval and validity only change at events, `valid_from` and `valid_until`, so checking those moments (plus the
window's ends) decides "at any moment of the window" exactly.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from evidence.customer.types import (
    CustomerEvidence,
    CustomerItem,
    ExceptionState,
    ItemState,
    ReviewEvent,
    RiskException,
)

SOON = timedelta(days=30)  # "expires soon" ahead of the window's end; "recently" before an as-of moment


class Flag(enum.StrEnum):
    EXPIRED = "expired"  # its validity (item) or expiry (exception) ended in the window
    EXPIRES_SOON = "expires_within_30_days"  # still in force at the window's end, but not for 30 more days
    PART_OF_PERIOD = "part_of_period"  # in force during part of the period only
    RETRACTED = "retracted"  # relied on in the window, retracted (or superseded) by its end
    REVOKED = "revoked"  # an exception revoked in the window


FLAG_TEXT = {
    Flag.EXPIRED: "expired",
    Flag.EXPIRES_SOON: "expires within 30 days",
    Flag.PART_OF_PERIOD: "part of the period only",
    Flag.RETRACTED: "retracted",
    Flag.REVOKED: "revoked",
}


@dataclass(frozen=True, slots=True)
class PacketWindow:
    until: datetime
    since: datetime | None = None  # None: an as-of packet

    def candidates(self, start: datetime, moments: Iterable[datetime]) -> list[datetime]:
        """`start`, `until` and every moment strictly inside (start, until]."""
        inside = {moment for moment in moments if start < moment <= self.until}
        return sorted({start, self.until} | inside)


@dataclass(frozen=True, slots=True)
class ItemEntry:
    """An item the packet relies on, with what the PDF and the manifest show about it."""

    item: CustomerItem
    controls: tuple[str, ...]  # the control ids of this packet's framework it supports
    version: int  # 1 + the number of earlier versions it supersedes
    state: ItemState | None  # at the window's end
    reason: str | None  # of the last event (e.g. "superseded by item 9")
    approved_by: str | None
    approved_at: datetime | None
    flags: tuple[Flag, ...]
    statement: str | None = None  # attestations: the statement, read from the content


@dataclass(frozen=True, slots=True)
class NotReliedOn:
    item: CustomerItem
    state: ItemState | None
    reason: str


@dataclass(frozen=True, slots=True)
class ExceptionEntry:
    exception: RiskException
    state: ExceptionState | None  # at the window's end
    approved_by: str | None
    approved_at: datetime | None
    revoked_by: str | None
    revoked_at: datetime | None
    revoked_reason: str | None
    flags: tuple[Flag, ...]


@dataclass(frozen=True, slots=True)
class CustomerSection:
    window: PacketWindow
    items: tuple[ItemEntry, ...] = ()
    not_relied_on: tuple[NotReliedOn, ...] = ()
    exceptions: tuple[ExceptionEntry, ...] = ()


def _last_event(events: Iterable[ReviewEvent], state: str, until: datetime) -> ReviewEvent | None:
    found = None
    for event in events:
        if event.at <= until and event.state == state:
            found = event
    return found


def _versions(items: Iterable[CustomerItem]) -> dict[int, int]:
    by_id = {item.id: item for item in items}
    versions: dict[int, int] = {}
    for item in by_id.values():
        count, previous, seen = 1, item.supersedes, {item.id}
        while previous is not None and previous not in seen:  # the store forbids cycles; do not loop if one appears
            seen.add(previous)
            count += 1
            earlier = by_id.get(previous)
            previous = earlier.supersedes if earlier is not None else None
        versions[item.id] = count
    return versions


def _item_flags(item: CustomerItem, window: PacketWindow) -> tuple[bool, list[Flag]]:
    """(relied on in the window, flags)."""
    until = window.until
    state = item.state_as_of(until)
    flags: list[Flag] = []
    if window.since is None:
        recently_expired = state is ItemState.EXPIRED and item.valid_until >= until - SOON
        relied = item.approved_at(until) or recently_expired
    else:
        moments = [event.at for event in item.events] + [item.valid_from, item.valid_until]
        relied_at = [item.approved_at(moment) for moment in window.candidates(window.since, moments)]
        relied = any(relied_at)
        if relied and not all(relied_at):
            flags.append(Flag.PART_OF_PERIOD)
    if not relied:
        return False, []
    if state is ItemState.EXPIRED:
        flags.insert(0, Flag.EXPIRED)
    elif state is ItemState.RETRACTED:
        flags.insert(0, Flag.RETRACTED)
    elif item.approved_at(until) and item.valid_until < until + SOON:
        flags.insert(0, Flag.EXPIRES_SOON)
    return True, flags


def _reason(item: CustomerItem, until: datetime) -> str | None:
    past = [event for event in item.events if event.at <= until]
    return past[-1].reason if past else None


def _item_entry(item: CustomerItem, framework: str, version: int, window: PacketWindow) -> ItemEntry | None:
    relied, flags = _item_flags(item, window)
    if not relied:
        return None
    approval = _last_event(item.events, ItemState.APPROVED.value, window.until)
    return ItemEntry(
        item=item,
        controls=tuple(ref.control_id for ref in item.controls if ref.framework == framework),
        version=version,
        state=item.state_as_of(window.until),
        reason=_reason(item, window.until),
        approved_by=approval.actor if approval is not None else None,
        approved_at=approval.at if approval is not None else None,
        flags=tuple(flags),
    )


def _not_relied_on(item: CustomerItem, window: PacketWindow) -> NotReliedOn | None:
    state = item.state_as_of(window.until)
    if state is ItemState.SUBMITTED:
        return NotReliedOn(item, state, "awaiting review")
    if state in (ItemState.REJECTED, ItemState.RETRACTED):
        return NotReliedOn(item, state, _reason(item, window.until) or state.value)
    return None  # approved but not yet valid, or expired long before the window: history, not review


def _exception_entry(exception: RiskException, window: PacketWindow) -> ExceptionEntry | None:
    until = window.until
    start = window.since if window.since is not None else until - SOON
    moments = [event.at for event in exception.events] + [exception.expires_at]
    active_at = [exception.active_at(moment) for moment in window.candidates(start, moments)]
    if not any(active_at):
        return None
    state = exception.state_as_of(until)
    flags: list[Flag] = []
    if state is ExceptionState.EXPIRED:
        flags.append(Flag.EXPIRED)
    elif state is ExceptionState.REVOKED:
        flags.append(Flag.REVOKED)
    elif exception.expires_at < until + SOON:
        flags.append(Flag.EXPIRES_SOON)
    if window.since is not None and not all(active_at):
        flags.append(Flag.PART_OF_PERIOD)
    approval = _last_event(exception.events, ExceptionState.APPROVED.value, until)
    revocation = _last_event(exception.events, ExceptionState.REVOKED.value, until)
    return ExceptionEntry(
        exception=exception,
        state=state,
        approved_by=approval.actor if approval is not None else None,
        approved_at=approval.at if approval is not None else None,
        revoked_by=revocation.actor if revocation is not None else None,
        revoked_at=revocation.at if revocation is not None else None,
        revoked_reason=revocation.reason if revocation is not None else None,
        flags=tuple(flags),
    )


def _concerns(exception: RiskException, framework: str, checks: Mapping[str, object]) -> bool:
    if exception.control is not None and exception.control.framework == framework:
        return True
    return exception.check_id is not None and exception.check_id in checks


def select(
    evidence: CustomerEvidence, *, framework: str, checks: Mapping[str, object], window: PacketWindow
) -> CustomerSection:
    """The items and exceptions of `evidence` a packet for `framework` over `window` shows.

    checks: the framework's check ids (exceptions scoped to a check concern the framework through them).
    """
    versions = _versions(evidence.items)
    items: list[ItemEntry] = []
    others: list[NotReliedOn] = []
    for item in evidence.items:
        if not any(ref.framework == framework for ref in item.controls) or item.submitted_at > window.until:
            continue
        entry = _item_entry(item, framework, versions[item.id], window)
        if entry is not None:
            items.append(entry)
        elif (other := _not_relied_on(item, window)) is not None:
            others.append(other)
    exceptions = [
        entry
        for exception in evidence.exceptions
        if exception.requested_at <= window.until
        and _concerns(exception, framework, checks)
        and (entry := _exception_entry(exception, window)) is not None
    ]
    return CustomerSection(window, tuple(items), tuple(others), tuple(exceptions))
