"""Every customer evidence item and exception with its history, read once per customer ledger head and shared by
the pages (the dashboard's review queue and expiring items, a control's items and exceptions, the owners page).

The service's listings filter states in Python after reading every row (a state is the last of an item's events),
so a page that asked them for "submitted items" or "the items of this control" read all 10,000 items each time.
Every write to items, exceptions and their reviews appends to the customer ledger, so while its head is unchanged
the rows are too; states are computed per request, at that request's moment, by the items' and exceptions' own
`state_as_of` (an approval lapses with time alone). Rows are read with a margin past the reading moment, so an
event stamped by a host whose clock runs a little ahead is held, and counted once its moment has come, as the
service would count it then.

What a page derives from the rows at a moment (`Snapshot.at`) is kept too, exactly as long as it holds: a state
or a 30-day window can only change at one of the rows' own moments (an event, a validity bound, an expiry, those
less 30 days), so between two such moments the answer is the same.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine

from evidence.customer import service
from evidence.customer.ledger import ledger_head
from evidence.customer.types import CustomerEvidence, CustomerItem
from frameworks.expiring import WINDOW

CLOCK_MARGIN = timedelta(hours=1)
T = TypeVar("T")


@dataclass(frozen=True)
class Snapshot:
    evidence: CustomerEvidence
    by_control: dict[str, tuple[CustomerItem, ...]]  # "framework:control" -> the items naming it, newest first
    moments: tuple[datetime, ...]  # sorted: every moment at which a state or a 30-day window can change
    _derived: dict[Hashable, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def of(cls, evidence: CustomerEvidence) -> Snapshot:
        by_control: dict[str, list[CustomerItem]] = {}
        moments: set[datetime] = set()
        for item in evidence.items:
            for ref in item.controls:
                by_control.setdefault(str(ref), []).append(item)
            moments.update((item.submitted_at, item.valid_from, item.valid_until, item.valid_until - WINDOW))
            moments.update(event.at for event in item.events)
        for exception in evidence.exceptions:
            moments.update((exception.requested_at, exception.expires_at, exception.expires_at - WINDOW))
            moments.update(event.at for event in exception.events)
        newest_first = {
            ref: tuple(sorted(items, key=lambda i: i.id, reverse=True)) for ref, items in by_control.items()
        }
        return cls(evidence, newest_first, tuple(sorted(moments)))

    def at(self, name: Hashable, now: datetime, derive: Callable[[], T]) -> T:
        """`derive()` (a function of the rows at `now`), computed once between two of the rows' moments."""
        key = (name, bisect_right(self.moments, now))
        with self._lock:
            if key in self._derived:
                return self._derived[key]  # type: ignore[no-any-return]
        value = derive()
        with self._lock:
            if len(self._derived) > 64:  # time moved on: answers for earlier intervals are not asked again
                self._derived.clear()
            self._derived[key] = value
        return value


class CustomerSnapshot:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._clock = clock
        self._held: tuple[Hashable, Snapshot] | None = None
        self._lock = threading.Lock()
        self._flight = threading.Lock()

    def get(self) -> Snapshot:
        head = ledger_head(self._engine)
        key = head.digest if head else None  # read before the rows: a write meanwhile makes the next call read again
        with self._lock:
            held = self._held
        if held is not None and held[0] == key:
            return held[1]
        with self._flight:  # one read at a time; requests arriving meanwhile take its answer
            with self._lock:
                held = self._held
            if held is not None and held[0] == key:
                return held[1]
            snapshot = Snapshot.of(service.customer_evidence(self._engine, as_of=self._clock() + CLOCK_MARGIN))
            with self._lock:
                self._held = (key, snapshot)
            return snapshot
