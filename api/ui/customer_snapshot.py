"""Every customer evidence item and exception with its history, read once per customer ledger head and shared by
the pages (the dashboard's review queue and expiring items, a control's items and exceptions, the owners page).

The service's listings filter states in Python after reading every row (a state is the last of an item's events),
so a page that asked them for "submitted items" or "the items of this control" read all 10,000 items each time.
Every write to items, exceptions and their reviews appends to the customer ledger, so while its head is unchanged
the rows are too; states are computed per request, at that request's moment, by the items' and exceptions' own
`state_as_of` (an approval lapses with time alone). Rows are read with a margin past the reading moment, so an
event stamped by a host whose clock runs a little ahead is held, and counted once its moment has come, as the
service would count it then.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta

from sqlalchemy import Engine

from evidence.customer import service
from evidence.customer.ledger import ledger_head
from evidence.customer.types import CustomerEvidence

CLOCK_MARGIN = timedelta(hours=1)


class CustomerSnapshot:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._clock = clock
        self._held: tuple[Hashable, CustomerEvidence] | None = None
        self._lock = threading.Lock()
        self._flight = threading.Lock()

    def get(self) -> CustomerEvidence:
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
            evidence = service.customer_evidence(self._engine, as_of=self._clock() + CLOCK_MARGIN)
            with self._lock:
                self._held = (key, evidence)
            return evidence
