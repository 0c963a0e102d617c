"""Framework status for the API, computed once per question and shared: evaluating a run of 100,000 findings
takes seconds, and fifty clients asking for the same status at once must not each do it (under load they starved
every other route: bench/load.py).

A key is the question (framework, as-of, accounts) and the answer's basis: the run it rests on, that run's
findings digest and the customer ledger head, so a new run, a re-evaluation or a reviewed item or exception is
never served from an old entry. Entries live `ttl` seconds (a status as of *now* ages: evidence goes stale and
items and exceptions expire with time), and concurrent requests for a key being computed wait
for that one computation (single flight). The status carries its own `as_of`, so a cached answer says when it
was true.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class StatusCache(Generic[T]):
    """Answers (a framework status, a period's history) by key, each computed once while it is fresh."""

    def __init__(self, *, ttl: float, max_entries: int = 8, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, T]] = OrderedDict()
        self._flights: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        if self._ttl <= 0:
            return compute()
        with self._lock:
            hit = self._fresh(key)
            if hit is not None:
                return hit
            flight = self._flights.setdefault(key, threading.Lock())
        with flight:  # one computation per key; the others wait here, then find it cached
            with self._lock:
                hit = self._fresh(key)
                if hit is not None:
                    return hit
            try:
                status = compute()
            finally:
                with self._lock:
                    self._flights.pop(key, None)
            with self._lock:
                self._entries[key] = (self._clock() + self._ttl, status)
                self._entries.move_to_end(key)
                while len(self._entries) > self._max:
                    self._entries.popitem(last=False)
            return status

    def _fresh(self, key: Hashable) -> T | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, status = entry
        if self._clock() >= expires:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return status
