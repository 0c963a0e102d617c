"""One background thread per interface that evaluates what a page should not wait for: a status whose cache
lifetime ran out while nothing it rests on changed, and the trend's past runs. Jobs run one at a time (evaluations
are CPU-bound: a second thread would only slow the pages down), each key at most once in the queue, refreshes
before trend points."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

log = logging.getLogger(__name__)


class Background:
    def __init__(self, name: str = "auditpack-ui") -> None:
        self._name = name
        self._urgent: OrderedDict[Hashable, Callable[[], None]] = OrderedDict()
        self._later: OrderedDict[Hashable, Callable[[], None]] = OrderedDict()
        self._running: Hashable | None = None
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, key: Hashable, job: Callable[[], None], *, urgent: bool = False) -> None:
        """Queue `job` unless a job with `key` is queued or running."""
        with self._wake:
            if key == self._running or key in self._urgent or key in self._later:
                return
            (self._urgent if urgent else self._later)[key] = job
            if self._thread is None:  # started on first use: most test apps never need it
                self._thread = threading.Thread(target=self._work, name=self._name, daemon=True)
                self._thread.start()
            self._wake.notify()

    def pending(self, key: Hashable) -> bool:
        with self._wake:
            return key == self._running or key in self._urgent or key in self._later

    def _work(self) -> None:
        while True:
            with self._wake:
                while not self._urgent and not self._later:
                    self._wake.wait()
                queue = self._urgent if self._urgent else self._later
                self._running, job = queue.popitem(last=False)
            try:
                job()
            except Exception:  # a failed evaluation is logged; the page that needs it asks again
                log.exception("background evaluation %r failed", self._running)
            with self._wake:
                self._running = None
