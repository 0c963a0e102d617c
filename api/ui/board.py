"""What the officer's pages show of framework status, held between requests so that a page does not wait for an
evaluation (seconds to minutes on a store of a million findings) unless what the status rests on has changed.

- `StatusBoard`: each framework's current status, as the frameworks source evaluated it. A page gets the held one
  while its basis (the latest usable run, that run's findings digest, the customer ledger head: what the API's
  status cache keys on too) is unchanged; when the basis moved (a new run, re-evaluated findings, an item or
  exception reviewed), the page waits for the new evaluation, so an officer sees the effect of a review at once.
  A held status older than `REFRESH` (five minutes) is evaluated again in the background (evidence goes stale and
  items expire with time alone) and shown meanwhile with its own as-of time.
- `TrendBoard`: the counts by status of each past run as of its end. A sealed run's answer does not change while
  its findings digest does not (the customer ledger only appends), so each is evaluated once per process, in the
  background, newest first; the trend fragment shows what is done and asks again until the rest is.

Nothing here decides a status: `frameworks` evaluates, through the source; this module only decides when.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from api.services.runs import RunView
from api.sources import FrameworksSource
from evidence.customer.ledger import ledger_head
from evidence.db import session_factory
from evidence.findings_model import FindingSet
from evidence.models import RunStatus
from evidence.store import EvidenceStore
from frameworks.results import FrameworkStatus

# Seconds a held status is shown before it is evaluated again in the background, when nothing it rests on
# changed: what time alone changes (evidence going stale after 48 hours, an item or exception lapsing) shows
# within five minutes, and a framework evaluated from a million findings (seconds of CPU) is not re-evaluated
# every minute while someone has a page open.
REFRESH = 300.0
USABLE = frozenset(status.value for status in RunStatus.usable())
Submit = Callable[..., None]  # Background.submit


def basis(engine: Engine) -> Hashable:
    """What a current status rests on (auditpack.api_sources.CatalogFrameworks keys its cache on the same)."""
    store = EvidenceStore(engine)
    run = store.latest_run()
    digest = None
    if run is not None:
        with session_factory(engine)() as session:
            digest = session.scalar(select(FindingSet.digest).where(FindingSet.run_id == run.id))
    head = ledger_head(engine)
    return (run.id if run else None, digest, head.digest if head else None)


@dataclass(frozen=True, slots=True)
class Held:
    basis: Hashable
    status: FrameworkStatus
    evaluated: float  # monotonic clock when its evaluation began


class StatusBoard:
    def __init__(self, submit: Submit, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._submit = submit
        self._clock = clock
        self._held: dict[str, Held] = {}
        self._lock = threading.Lock()
        self._flights: dict[str, threading.Lock] = {}

    def status(
        self, source: FrameworksSource, framework_id: str, *, engine: Engine, rests_on: Hashable = None
    ) -> FrameworkStatus:
        """The current status of `framework_id` (`rests_on`: its basis, when the caller read it already)."""
        current = rests_on if rests_on is not None else basis(engine)
        with self._lock:
            held = self._held.get(framework_id)
            flight = self._flights.setdefault(framework_id, threading.Lock())
        if held is not None and held.basis == current:
            if self._clock() - held.evaluated >= REFRESH:
                self._submit(
                    ("status", framework_id), lambda: self._evaluate(source, framework_id, engine), urgent=True
                )
            return held.status
        with flight:  # one evaluation per framework; the others wait for it and take its answer
            with self._lock:
                held = self._held.get(framework_id)
            if held is not None and held.basis == current:
                return held.status
            return self._evaluate(source, framework_id, engine, current)

    def warm(self, source: FrameworksSource, framework_ids: Sequence[str], *, engine: Engine) -> None:
        """Evaluate each framework in the background now, so the first dashboard after a start does not wait for
        every framework's evaluation (12 s of CPU on a million findings: bench/ui.py). A page asking meanwhile
        waits for the same evaluation (the source's cache computes each key once), not for a second one."""
        for framework_id in framework_ids:
            self._submit(
                ("status", framework_id),
                lambda framework_id=framework_id: self._evaluate(source, framework_id, engine),  # type: ignore[misc]
                urgent=True,
            )

    def held(self, framework_id: str) -> FrameworkStatus | None:
        with self._lock:
            entry = self._held.get(framework_id)
        return entry.status if entry is not None else None

    def _evaluate(
        self, source: FrameworksSource, framework_id: str, engine: Engine, read: Hashable = None
    ) -> FrameworkStatus:
        started = self._clock()
        rests_on = read if read is not None else basis(engine)  # read before evaluating: a change meanwhile shows
        status = source.status(framework_id, as_of=None)
        with self._lock:
            held = self._held.get(framework_id)
            if held is None or held.evaluated <= started:
                self._held[framework_id] = Held(rests_on, status, started)
        return status


@dataclass(frozen=True, slots=True)
class TrendPoint:
    run: RunView
    by_status: dict[str, int] | None  # None: being evaluated; empty: the run is not usable (no status rests on it)


class TrendBoard:
    def __init__(self, submit: Submit, *, max_entries: int = 1024) -> None:
        self._submit = submit
        self._points: dict[tuple[str, int, datetime, str | None], dict[str, int]] = {}
        self._max = max_entries
        self._lock = threading.Lock()

    def points(
        self, source: FrameworksSource, framework_id: str, recent: Sequence[RunView], *, engine: Engine
    ) -> list[TrendPoint]:
        """Oldest first. Points not evaluated yet are queued (newest first) and come back as None."""
        digests = _digests(engine, [view.run.id for view in recent])
        found: list[TrendPoint] = []
        for view in recent:  # newest first: the order they are queued in
            run = view.run
            if run.status not in USABLE or run.finished_at is None:
                found.append(TrendPoint(view, {}))
                continue
            key = (framework_id, run.id, run.finished_at, digests.get(run.id))
            with self._lock:
                counts = self._points.get(key)
            if counts is None:
                self._submit(("trend", key), self._job(source, key))
            found.append(TrendPoint(view, counts))
        return found[::-1]

    def _job(self, source: FrameworksSource, key: tuple[str, int, datetime, str | None]) -> Callable[[], None]:
        def evaluate() -> None:
            framework_id, _, finished, _ = key
            counts = dict(source.status(framework_id, as_of=finished).by_status)
            with self._lock:
                self._points[key] = counts
                while len(self._points) > self._max:
                    self._points.pop(next(iter(self._points)))

        return evaluate


def _digests(engine: Engine, run_ids: Sequence[int]) -> dict[int, str]:
    """The findings digest of each run (a re-evaluated run is a new trend point)."""
    if not run_ids:
        return {}
    with session_factory(engine)() as session:
        rows = session.execute(select(FindingSet.run_id, FindingSet.digest).where(FindingSet.run_id.in_(run_ids)))
        return {run_id: digest for run_id, digest in rows}
