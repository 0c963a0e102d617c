"""How a framework's control statuses changed between two evaluations, and what in the customer's evidence changed
between two moments (exceptions created, approved, revoked or expired; evidence items approved or expired).

    control_changes(before, after, customer) -> (ControlChange, ...)     requirements whose overall status moved
    customer_changes(catalog, customer, since=, until=) -> (CustomerChange, ...)

Pure: both statuses were evaluated by `frameworks.evaluate` (each on its own run, as of its own moment, with the
customer evidence known then); this only compares them and says why, from what the two statuses rest on (the
checks' verdict, the items and exceptions each names).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.canonical import rfc3339
from evidence.customer.types import CustomerEvidence, CustomerItem, ExceptionState, ItemState, RiskException
from frameworks import exceptions as excepting
from frameworks.results import ControlResult, FrameworkStatus, OverallStatus
from frameworks.schema import Catalog

_INSTANT = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class ControlChange:
    control_id: str
    title: str
    before: OverallStatus
    after: OverallStatus
    reason: str  # the newer status's reason
    causes: tuple[str, ...]  # what moved between the two: the checks' verdict, items, exceptions


@dataclass(frozen=True, slots=True)
class CustomerChange:
    """One event in the customer's evidence between two moments."""

    kind: str  # "item" | "exception"
    id: int
    title: str  # an item's title; an exception's scope
    event: str  # created | approved | rejected | revoked | retracted | expired
    at: datetime
    actor: str | None  # who did it (None for an expiry: nobody acts, time passes)
    controls: tuple[str, ...]  # this framework's controls it bears on


def control_changes(
    before: FrameworkStatus, after: FrameworkStatus, customer: CustomerEvidence | None = None
) -> tuple[ControlChange, ...]:
    """Every requirement (not heading) whose overall status differs, in catalog order, with what changed."""
    old = {c.control_id: c for c in before.controls if not c.heading}
    items = {item.id: item for item in (customer.items if customer else ())}
    exceptions = {e.id: e for e in (customer.exceptions if customer else ())}
    changes = []
    for control in after.controls:
        previous = old.get(control.control_id)
        if control.heading or previous is None or previous.status is control.status:
            continue
        changes.append(
            ControlChange(
                control_id=control.control_id,
                title=control.title,
                before=previous.status,
                after=control.status,
                reason=control.status_reason,
                causes=_causes(previous, control, after.as_of, items, exceptions),
            )
        )
    return tuple(changes)


def _causes(
    old: ControlResult,
    new: ControlResult,
    until: datetime,
    items: dict[int, CustomerItem],
    exceptions: dict[int, RiskException],
) -> tuple[str, ...]:
    causes = []
    if old.automated is not new.automated:
        causes.append(f"checks: {old.automated.value} -> {new.automated.value} ({new.failed} resource(s) failing)")
    if old.evidence is not new.evidence:
        causes.append(f"customer evidence: {old.evidence.value} -> {new.evidence.value}")
    for item_id in sorted(set(old.evidence_items) & set(new.evidence_expired)):
        item = items.get(item_id)
        when = f" at {rfc3339(item.valid_until)}" if item else ""
        causes.append(f"evidence item {item_id} expired{when}")
    for item_id in sorted(set(new.evidence_items) - set(old.evidence_items)):
        causes.append(f"evidence item {item_id} approved")
    for exception_id in sorted(set(old.exceptions) - set(new.exceptions)):
        exception = exceptions.get(exception_id)
        state = exception.state_as_of(until) if exception else None
        if state is ExceptionState.EXPIRED and exception is not None:
            causes.append(f"exception {exception_id} expired at {rfc3339(exception.expires_at)}")
        elif state is not None and state is not ExceptionState.APPROVED:
            causes.append(f"exception {exception_id} {state.value}")
        else:
            causes.append(f"exception {exception_id} no longer covers a failing finding")
    for exception_id in sorted(set(new.exceptions) - set(old.exceptions)):
        causes.append(f"exception {exception_id} now covers failing findings")
    return tuple(causes)


def _item_controls(catalog: Catalog, item: CustomerItem) -> tuple[str, ...]:
    known = {control.id for control in catalog.controls}
    return tuple(r.control_id for r in item.controls if r.framework == catalog.id and r.control_id in known)


def exception_controls(catalog: Catalog, exception: RiskException) -> tuple[str, ...]:
    """The controls of `catalog` an exception bears on: the one it names, or every control using its check."""
    if exception.control is not None:
        return (exception.control.control_id,) if exception.control.framework == catalog.id else ()
    return tuple(c.id for c in catalog.controls if any(r.id == exception.check_id for r in c.checks))


def _within(moment: datetime, since: datetime, until: datetime) -> bool:
    return since < moment <= until


def customer_changes(
    catalog: Catalog, customer: CustomerEvidence, *, since: datetime, until: datetime
) -> tuple[CustomerChange, ...]:
    """Items and exceptions bearing on `catalog` that were created, reviewed or expired in (since, until], oldest
    first. An expiry counts when the item or exception was approved up to the moment it lapsed."""
    found: list[CustomerChange] = []
    for item in customer.items:
        controls = _item_controls(catalog, item)
        if controls:
            found.extend(_item_events(item, controls, since, until))
    for exception in customer.exceptions:
        controls = exception_controls(catalog, exception)
        if controls:
            found.extend(_exception_events(exception, controls, since, until))
    return tuple(sorted(found, key=lambda c: (c.at, c.kind, c.id, c.event)))


def _item_events(
    item: CustomerItem, controls: tuple[str, ...], since: datetime, until: datetime
) -> Iterable[CustomerChange]:
    for event in item.events:
        if _within(event.at, since, until):
            name = "created" if event.state == ItemState.SUBMITTED.value else event.state
            yield CustomerChange("item", item.id, item.title, name, event.at, event.actor, controls)
    lapsed = item.valid_until
    if _within(lapsed, since, until) and item.state_as_of(lapsed - _INSTANT) is ItemState.APPROVED:
        yield CustomerChange("item", item.id, item.title, "expired", lapsed, None, controls)


def _exception_events(
    exception: RiskException, controls: tuple[str, ...], since: datetime, until: datetime
) -> Iterable[CustomerChange]:
    scope = excepting.describe(exception)
    for event in exception.events:
        if _within(event.at, since, until):
            name = "created" if event.state == ExceptionState.REQUESTED.value else event.state
            yield CustomerChange("exception", exception.id, scope, name, event.at, event.actor, controls)
    lapsed = exception.expires_at
    if _within(lapsed, since, until) and exception.state_as_of(lapsed - _INSTANT) is ExceptionState.APPROVED:
        yield CustomerChange("exception", exception.id, scope, "expired", lapsed, None, controls)
