"""Approved evidence items and exceptions that lapse soon after as_of: what to renew before a control stops
being met (items) or its excepted findings fail again (exceptions)."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.canonical import rfc3339
from evidence.customer.types import CustomerEvidence
from frameworks import exceptions as excepting
from frameworks.results import ExpiringRef
from frameworks.schema import Catalog

WINDOW = timedelta(days=30)


def soon(
    customer: CustomerEvidence, as_of: datetime, *, window: timedelta = WINDOW
) -> dict[str, list[dict[str, object]]]:
    """Every approved item and active exception, of any framework, that lapses within `window` (30 days) after
    as_of: the renewals a run summary (the nightly capture) reminds the officer of. Soonest first."""
    horizon = as_of + window
    found_items = sorted(
        (item for item in customer.items if item.approved_at(as_of) and item.valid_until <= horizon),
        key=lambda item: (item.valid_until, item.id),
    )
    found_exceptions = sorted(
        (e for e in excepting.active(customer.exceptions, as_of) if e.expires_at <= horizon),
        key=lambda e: (e.expires_at, e.id),
    )
    return {
        "items": [
            {
                "id": i.id,
                "title": i.title,
                "expires_at": rfc3339(i.valid_until),
                "controls": [str(c) for c in i.controls],
            }
            for i in found_items
        ],
        "exceptions": [
            {"id": e.id, "scope": excepting.describe(e), "expires_at": rfc3339(e.expires_at)} for e in found_exceptions
        ],
    }


def items(catalog: Catalog, customer: CustomerEvidence, as_of: datetime) -> tuple[ExpiringRef, ...]:
    """Items supporting a control of `catalog`, approved and valid at as_of, whose validity ends within
    `WINDOW`; soonest first."""
    known = {control.id for control in catalog.controls}
    found = []
    for item in customer.items:
        controls = tuple(r.control_id for r in item.controls if r.framework == catalog.id and r.control_id in known)
        if controls and item.approved_at(as_of) and item.valid_until <= as_of + WINDOW:
            found.append(ExpiringRef("item", item.id, item.title, item.valid_until, controls))
    return tuple(sorted(found, key=lambda ref: (ref.expires_at, ref.id)))


def exceptions(catalog: Catalog, customer: CustomerEvidence, as_of: datetime) -> tuple[ExpiringRef, ...]:
    """Exceptions active at as_of that bear on `catalog` (name one of its controls, or a check one of its
    controls uses) and expire within `WINDOW`; soonest first."""
    found = []
    for exception in excepting.active(customer.exceptions, as_of):
        if exception.expires_at > as_of + WINDOW:
            continue
        if exception.control is not None:
            controls: tuple[str, ...] = (
                (exception.control.control_id,) if exception.control.framework == catalog.id else ()
            )
        else:
            controls = tuple(c.id for c in catalog.controls if any(r.id == exception.check_id for r in c.checks))
        if controls:
            found.append(
                ExpiringRef("exception", exception.id, excepting.describe(exception), exception.expires_at, controls)
            )
    return tuple(sorted(found, key=lambda ref: (ref.expires_at, ref.id)))


def lapsed(customer: CustomerEvidence, *, since: datetime, until: datetime) -> dict[str, list[dict[str, object]]]:
    """Items and exceptions, of any framework, that expired in (since, until] while approved: what stopped
    supporting a control, or stopped excepting findings, since the previous capture. Oldest first."""
    instant = timedelta(microseconds=1)
    items = sorted(
        (
            item
            for item in customer.items
            if since < item.valid_until <= until and item.approved_at(item.valid_until - instant)
        ),
        key=lambda item: (item.valid_until, item.id),
    )
    exceptions = sorted(
        (e for e in customer.exceptions if since < e.expires_at <= until and e.active_at(e.expires_at - instant)),
        key=lambda e: (e.expires_at, e.id),
    )
    return {
        "items": [
            {
                "id": i.id,
                "title": i.title,
                "expired_at": rfc3339(i.valid_until),
                "controls": [str(c) for c in i.controls],
            }
            for i in items
        ],
        "exceptions": [
            {"id": e.id, "scope": excepting.describe(e), "expired_at": rfc3339(e.expires_at)} for e in exceptions
        ],
    }
