"""The nightly capture: cron in UTC, one execution per firing however many replicas fire, catch-up on start."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.triggers.cron import CronTrigger
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from api.executors import CollectRequest
from api.jobs.handlers import CollectJob
from api.jobs.worker import JobWorker
from api.models import Job
from api.scheduler import CaptureScheduler, firing_key, latest_firing, parse_schedule
from core.errors import InputError
from evidence.db import make_engine, session_factory
from evidence.store import EvidenceStore
from tests.api.conftest import config
from tests.api.executors import StoreCollector


def _scheduled_jobs(engine: Engine) -> list[Job]:
    with session_factory(engine)() as session:
        return list(session.scalars(select(Job).where(Job.idempotency_key.like("schedule:%")).order_by(Job.id)))


def test_latest_firing_of_a_nightly_schedule() -> None:
    nightly = parse_schedule("0 2 * * *")
    assert nightly is not None
    at = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
    assert latest_firing(nightly, at) == datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    assert latest_firing(nightly, datetime(2026, 11, 27, 1, 59, tzinfo=UTC)) == datetime(2026, 11, 26, 2, tzinfo=UTC)
    assert latest_firing(nightly, datetime(2026, 11, 27, 2, 0, tzinfo=UTC)) == datetime(2026, 11, 27, 2, tzinfo=UTC)
    weekly = parse_schedule("15 3 * * mon")
    assert latest_firing(weekly, at) == datetime(2026, 11, 23, 3, 15, tzinfo=UTC)
    assert parse_schedule("  ") is None


@pytest.mark.parametrize("expression", ["0 2 * *", "61 2 * * *", "every night"])
def test_a_bad_schedule_is_refused_at_start_up(make_app, expression: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match="cannot read the schedule"):
        make_app(config=config(schedule=expression))


def test_a_missed_firing_runs_once_at_start_up_within_the_grace_period(engine: Engine) -> None:
    nightly = parse_schedule("0 2 * * *")
    assert nightly is not None

    def scheduler(now: datetime, grace_minutes: int) -> CaptureScheduler:
        return CaptureScheduler(
            engine=engine, trigger=nightly, grace=timedelta(minutes=grace_minutes), clock=lambda: now
        )

    late = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert scheduler(late, grace_minutes=360).catch_up() is None  # 7 h late: outside a 6 h grace period
    assert _scheduled_jobs(engine) == []
    job = scheduler(late, grace_minutes=600).catch_up()
    assert job is not None and job.idempotency_key == "schedule:2026-11-27T02:00:00Z"
    assert job.payload["trigger"] == "schedule"
    assert scheduler(late + timedelta(minutes=5), grace_minutes=600).catch_up() is None  # already queued
    assert len(_scheduled_jobs(engine)) == 1


def test_the_app_runs_the_missed_capture_when_it_starts(make_app, engine: Engine, collector: StoreCollector) -> None:  # type: ignore[no-untyped-def]
    now = datetime(2026, 11, 27, 2, 40, tzinfo=UTC)
    app = make_app(config=config(schedule="0 2 * * *", schedule_grace_minutes=60), clock=lambda: now)
    with TestClient(app):
        deadline = time.monotonic() + 20
        while not (jobs := _scheduled_jobs(engine)) or jobs[0].status != "done":
            assert time.monotonic() < deadline, "the catch-up capture did not run"
            time.sleep(0.05)
    assert jobs[0].idempotency_key == firing_key(datetime(2026, 11, 27, 2, 0, tzinfo=UTC))
    assert [(requested_by, trigger) for _, requested_by, trigger in collector.calls] == [("scheduler", "schedule")]


class CountingScheduler(CaptureScheduler):
    def __init__(self, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.attempts: list[tuple[str, bool]] = []
        self._lock = threading.Lock()

    def fire(self, firing: datetime) -> Job | None:
        job = super().fire(firing)
        with self._lock:
            self.attempts.append((firing_key(firing), job is not None))
        return job


def _contested(replicas: list[tuple[Engine, JobWorker, CountingScheduler]]) -> set[str]:
    """The firings both replicas attempted."""
    fired = [{key for key, _ in list(scheduler.attempts)} for _e, _w, scheduler in replicas]
    return fired[0] & fired[1]


def test_two_replicas_on_one_database_execute_each_firing_once(db_url: str) -> None:
    every_second = CronTrigger(second="*", timezone=UTC)
    replicas: list[tuple[Engine, JobWorker, CountingScheduler]] = []
    calls: list[tuple[CollectRequest, str, str]] = []
    for name in ("replica-a", "replica-b"):
        engine = make_engine(db_url)  # each replica has its own connection pool
        collector = StoreCollector(EvidenceStore(engine, worker=f"{name}:1"), items=1, gaps=0)
        collector.calls = calls
        worker = JobWorker(
            engine=engine, handlers={"collect": CollectJob(collector)}, worker_id=f"{name}:1", poll_seconds=0.05
        )
        scheduler = CountingScheduler(
            engine=engine, trigger=every_second, grace=timedelta(seconds=30), on_enqueued=lambda job, w=worker: w.wake()
        )
        replicas.append((engine, worker, scheduler))
    try:
        for _engine, worker, _scheduler in replicas:
            worker.start()
        for _engine, _worker, scheduler in replicas:
            scheduler.start()
        # Run until both replicas have fired the same second at least three times (about 3 s on a quiet machine;
        # a loaded one may skip seconds, so wait on what happened rather than on the clock).
        deadline = time.monotonic() + 60
        while len(_contested(replicas)) < 3:
            assert time.monotonic() < deadline, [s.attempts for _e, _w, s in replicas]
            time.sleep(0.1)
    finally:
        for _engine, _worker, scheduler in replicas:
            scheduler.shutdown()
        for _engine, worker, _scheduler in replicas:
            worker.wait_idle(timeout=20)
            worker.stop(timeout=20)
    engine = replicas[0][0]
    jobs = _scheduled_jobs(engine)
    keys = [job.idempotency_key for job in jobs]
    assert len(keys) == len(set(keys)) >= 3
    attempts = [attempt for _e, _w, scheduler in replicas for attempt in scheduler.attempts]
    contested = _contested(replicas)
    assert len(contested) >= 3, attempts  # both replicas fired these
    for key in contested:
        assert sum(created for k, created in attempts if k == key) == 1, key
    assert all(job.status == "done" for job in jobs), [(j.id, j.status, j.error) for j in jobs]
    assert len(calls) == len(jobs)  # one collection per firing
    assert len({job.worker for job in jobs}) >= 1
    for replica_engine, _w, _s in replicas:
        replica_engine.dispose()
