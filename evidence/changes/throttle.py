"""Token buckets: at most `rate` requests a second per (account, region), as AWS meters CloudTrail's LookupEvents
(two per second per account and region; beyond that it throttles).

A request takes a token; a bucket holds at most `capacity` tokens (no burst beyond it) and refills at `rate` per
second. A caller that finds none reserves the next one and waits until it is due, so concurrent callers queue in
order instead of racing. Time and waiting are injected: tests run on a fake clock, a collection waits on its stop
event (a cancelled run does not sit out the wait).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

LOOKUP_RATE = 2.0  # cloudtrail:LookupEvents requests per second per account and region (AWS's limit)


class TokenBucket:
    def __init__(
        self,
        rate: float,
        *,
        capacity: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError(f"a token bucket needs rate > 0 and capacity >= 1, got {rate} and {capacity}")
        self.rate, self.capacity = rate, capacity
        self._clock, self._sleep = clock, sleep
        self._tokens = capacity
        self._updated = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, waiting until one is due; returns how long it waited (seconds)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1  # may go below zero: the next token is reserved for this caller
            wait = max(0.0, -self._tokens / self.rate)
        if wait:
            self._sleep(wait)
        return wait


class Throttles:
    """One bucket per (account, region)."""

    def __init__(
        self,
        rate: float = LOOKUP_RATE,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self._rate, self._clock, self._sleep = rate, clock, sleep
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def bucket(self, account_id: str, region: str) -> TokenBucket:
        with self._lock:
            found = self._buckets.get((account_id, region))
            if found is None:
                found = TokenBucket(self._rate, clock=self._clock, sleep=self._sleep)
                self._buckets[(account_id, region)] = found
            return found
