"""Runs queued jobs on a few daemon threads, keeps their heartbeats fresh, and recovers jobs of dead workers.

Every replica runs one worker (on SQLite; with PostgreSQL `auditpack worker` processes run jobs through
procrastinate, calling `run_job`, and this class keeps only the heartbeats and recovery there). Jobs are claimed
with a conditional UPDATE, so each runs once wherever it was queued. `wake()` nudges one thread after an enqueue;
otherwise threads poll every `poll_seconds`, which is also how a replica picks up work queued by another one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from api.models import Job
from api.services import jobs
from core.clock import utcnow
from core.errors import AuditpackError, ConflictError
from evidence.db import session_factory
from evidence.store import EvidenceStore, this_worker

log = logging.getLogger("auditpack.api.jobs")

JobHandler = Callable[[Job], dict[str, Any]]


def describe_failure(exc: BaseException) -> str:
    """The error text stored on a failed job: our own errors with their hint, others with their type."""
    if isinstance(exc, AuditpackError):
        return exc.diagnostics()
    return f"{type(exc).__name__}: {exc}"


class JobWorker:
    def __init__(
        self,
        *,
        engine: Engine,
        handlers: Mapping[str, JobHandler],
        worker_id: str | None = None,
        threads: int = 2,
        poll_seconds: float = 5.0,
        heartbeat_seconds: float = 15.0,
        stale_after: timedelta = timedelta(minutes=2),
        max_attempts: int = 1,
        recover_runs: bool = False,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """`max_attempts`: claims of a job before a dead worker's job is left interrupted rather than queued again
        (1: never automatically). `recover_runs`: also interrupt the evidence runs of dead workers, on every beat
        (procrastinate workers, which outlive each other; in-process, start-up recovery covers it)."""
        self._engine = engine
        self.sessions = session_factory(engine)
        self.handlers = dict(handlers)
        self.worker_id = worker_id or this_worker()
        self._threads = threads
        self._poll = poll_seconds
        self._heartbeat = heartbeat_seconds
        self._stale_after = stale_after
        self._max_attempts = max_attempts
        self._recover_runs = recover_runs
        self._clock = clock
        self._stop = threading.Event()
        self._wakeups = threading.Semaphore(0)
        self._running: set[int] = set()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pool: list[threading.Thread] = []

    # -- lifecycle ----------------------------------------------------------------------------------------------

    def start(self) -> list[int]:
        """Recover jobs left running by dead workers, then start the threads. Returns the recovered job ids."""
        recovered = self.recover()
        for index in range(self._threads):
            thread = threading.Thread(target=self._loop, name=f"auditpack-job-{index}", daemon=True)
            thread.start()
            self._pool.append(thread)
        beat = threading.Thread(target=self._beat_loop, name="auditpack-job-heartbeat", daemon=True)
        beat.start()
        self._pool.append(beat)
        return recovered

    def stop(self, *, timeout: float = 30.0) -> None:
        """Stop taking jobs and wait up to `timeout` for running ones. A job still running when the process exits
        is recovered as interrupted at the next start."""
        self._stop.set()
        for _ in self._pool:
            self._wakeups.release()
        for thread in self._pool:
            thread.join(timeout=timeout)
        self._pool.clear()

    def wake(self) -> None:
        self._wakeups.release()

    def recover(self) -> list[int]:
        if self._recover_runs:  # first, so a job queued again never runs beside its dead attempt's open run
            store = EvidenceStore(self._engine, worker=self.worker_id, clock=self._clock)
            for run_id in store.recover_interrupted():
                log.warning("run %s was interrupted (its worker stopped)", run_id)
        with self.sessions() as session:
            recovered = jobs.recover_interrupted(
                session,
                worker=self.worker_id,
                now=self._clock(),
                stale_after=self._stale_after,
                max_attempts=self._max_attempts,
            )
        for job_id in recovered:
            log.warning("job %s lost its worker: queued again, or interrupted after its last attempt", job_id)
        if recovered:
            self.wake()
        return recovered

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no job is running here (tests and shutdown)."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._running, timeout=timeout)

    # -- execution ----------------------------------------------------------------------------------------------

    def run_next(self) -> int | None:
        """Claim and run one queued job in this thread; the id, or None when nothing was queued."""
        job = self._claim()
        if job is None:
            return None
        self._execute(job)
        return job.id

    def run_job(self, job_id: int) -> bool:
        """Claim the job `job_id` and run it in this thread: how a procrastinate task runs a job (api.jobs.queue).
        False when it was not queued (another delivery of it ran it, or it was never queued)."""
        with self.sessions() as session:
            job = jobs.claim(session, job_id=job_id, worker=self.worker_id, now=self._clock())
        if job is None:
            return False
        with self._lock:
            self._running.add(job.id)
        self._execute(job)
        return True

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                ran = self.run_next()
            except Exception:  # a database hiccup must not kill the thread; it is logged and retried on the next poll
                log.exception("job worker could not claim a job")
                ran = None
            if ran is None:
                self._wakeups.acquire(timeout=self._poll)

    def _claim(self) -> Job | None:
        with self.sessions() as session:
            for job_id in jobs.queued_ids(session, limit=5):
                job = jobs.claim(session, job_id=job_id, worker=self.worker_id, now=self._clock())
                if job is not None:
                    with self._lock:
                        self._running.add(job.id)
                    return job
        return None

    def _execute(self, job: Job) -> None:
        handler = self.handlers.get(job.kind)
        try:
            if handler is None:
                raise ConflictError(f"no executor for {job.kind} jobs is configured on worker {self.worker_id}")
            log.info("job %s (%s) started on %s", job.id, job.kind, self.worker_id)
            result = handler(job)
        except Exception as exc:  # every failure is recorded on the job, with its error, never swallowed
            log.exception("job %s (%s) failed", job.id, job.kind)
            self._record(jobs.fail, job.id, error=describe_failure(exc))
        else:
            self._record(jobs.finish, job.id, result=result)
            log.info("job %s (%s) done", job.id, job.kind)
        finally:
            with self._idle:
                self._running.discard(job.id)
                self._idle.notify_all()

    def _record(self, outcome: Callable[..., None], job_id: int, **fields: Any) -> None:
        try:
            with self.sessions() as session:
                outcome(session, job_id=job_id, worker=self.worker_id, now=self._clock(), **fields)
        except ConflictError as exc:
            log.error("%s", exc.message)

    def _beat_loop(self) -> None:
        while not self._stop.wait(self._heartbeat):
            with self._lock:
                running = sorted(self._running)
            try:
                with self.sessions() as session:
                    jobs.heartbeat(session, job_ids=running, worker=self.worker_id, now=self._clock())
                self.recover()  # take over from replicas that died
            except Exception:  # a missed beat is retried on the next one; a long outage shows as stale jobs
                log.exception("job heartbeat failed")
