"""Throttles clients that keep failing authentication (token guessing, a misconfigured scraper).

Per replica and in memory: after `limit` failures from one client address within `window` seconds, every
authenticated request from that address is refused with 429 and Retry-After until the oldest failure ages out.
Successful requests do not count. A sliding window of timestamps per address, pruned on use, bounded in size.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable


class FailureLimiter:
    def __init__(
        self,
        *,
        limit: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        self._limit = limit
        self._window = window_seconds
        self._clock = clock
        self._max_clients = max_clients
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int | None:
        """Seconds until `client` may try again, or None if it is not throttled."""
        if self._limit <= 0:
            return None
        now = self._clock()
        with self._lock:
            failures = self._failures.get(client)
            if failures is None:
                return None
            self._prune(failures, now)
            if not failures:
                del self._failures[client]
                return None
            if len(failures) < self._limit:
                return None
            return max(1, math.ceil(failures[0] + self._window - now))

    def record_failure(self, client: str) -> None:
        if self._limit <= 0:
            return
        now = self._clock()
        with self._lock:
            if client not in self._failures and len(self._failures) >= self._max_clients:
                self._evict(now)
            failures = self._failures.setdefault(client, deque(maxlen=self._limit))
            failures.append(now)

    def _prune(self, failures: deque[float], now: float) -> None:
        while failures and failures[0] <= now - self._window:
            failures.popleft()

    def _evict(self, now: float) -> None:
        for client in list(self._failures):
            self._prune(self._failures[client], now)
            if not self._failures[client]:
                del self._failures[client]
        while len(self._failures) >= self._max_clients:  # still full: forget the oldest entry
            del self._failures[next(iter(self._failures))]
