"""The work queue of a collection: a bounded thread pool whose tasks may schedule more tasks, with progress
reporting and per-(account, region) idleness (so that clients can be released when their work is done)."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

_log = logging.getLogger("auditpack.collect")


class CollectionProgress(Protocol):
    """What the CLI (or API) is told while a collection runs; called from worker threads."""

    def planned(self, account_id: str, region: str, tasks: int) -> None:
        """`tasks` more units of work were scheduled for (account, region); region "global" for IAM and S3."""

    def completed(self, account_id: str, region: str) -> None:
        """One unit of work for (account, region) finished (successfully or as gaps)."""

    def note(self, message: str) -> None:
        """Something the user should know now (an account that could not be entered, a region refused)."""


class NoProgress:
    def planned(self, account_id: str, region: str, tasks: int) -> None:
        pass

    def completed(self, account_id: str, region: str) -> None:
        pass

    def note(self, message: str) -> None:
        pass


class Tasks:
    """A counter of outstanding work over a thread pool; tasks may schedule more tasks. When the last task of
    an (account, region) ends, `on_idle` is told (before `wait` can return), so that the region's held gaps are
    settled and its clients released: memory then follows the work in flight, not the size of the Organization."""

    def __init__(self, pool: ThreadPoolExecutor, progress: CollectionProgress, stop: threading.Event) -> None:
        self._pool, self._progress, self._stop = pool, progress, stop
        self._pending = 0
        self._open: Counter[tuple[str, str]] = Counter()
        self._done = threading.Condition()
        self.failures: list[str] = []
        self.on_idle: Callable[[str, str], None] | None = None

    def spawn(self, fn: Callable[[], None], account_id: str, region: str) -> None:
        self.spawn_many([(fn, account_id, region)])

    def spawn_many(self, work: list[tuple[Callable[[], None], str, str]]) -> None:
        """Schedule several tasks; all are counted before any runs, so no (account, region) looks idle early."""
        with self._done:
            self._pending += len(work)
            for _, account_id, region in work:
                self._open[(account_id, region)] += 1
        for fn, account_id, region in work:
            self._progress.planned(account_id, region, 1)
            self._pool.submit(self._run, fn, account_id, region)

    def hold(self, account_id: str, region: str) -> None:
        """Keep (account, region) from looking idle until `release`: more of its work is still to be scheduled
        (by a task of another region, say), so its clients and held gaps must wait for it."""
        with self._done:
            self._open[(account_id, region)] += 1

    def release(self, account_id: str, region: str) -> None:
        """End a `hold` (from within a task, so that what `on_idle` records is in the run when `wait` ends)."""
        with self._done:
            self._open[(account_id, region)] -= 1
            idle = self._open[(account_id, region)] == 0
            if idle:
                del self._open[(account_id, region)]
        if idle and self.on_idle is not None:
            self.on_idle(account_id, region)

    def _run(self, fn: Callable[[], None], account_id: str, region: str) -> None:
        try:
            if not self._stop.is_set():
                fn()
        except BaseException as exc:  # tasks record their own gaps; anything escaping them fails the job loudly
            self._failed(account_id, region, exc)
        finally:
            with self._done:
                self._open[(account_id, region)] -= 1
                idle = self._open[(account_id, region)] == 0
                if idle:
                    del self._open[(account_id, region)]
            self._progress.completed(account_id, region)
            try:
                # before this task stops counting as pending: what on_idle records is in the run when wait() ends
                if idle and self.on_idle is not None:
                    self.on_idle(account_id, region)
            except BaseException as exc:
                self._failed(account_id, region, exc)
            finally:
                with self._done:
                    self._pending -= 1
                    self._done.notify_all()

    def _failed(self, account_id: str, region: str, exc: BaseException) -> None:
        _log.exception("collection task for %s/%s failed", account_id, region)
        with self._done:
            self.failures.append(f"{account_id}/{region}: {type(exc).__name__}: {exc}")

    def wait(self) -> None:
        with self._done:
            while self._pending:
                self._done.wait(0.5)  # wake up regularly so Ctrl-C reaches the main thread
