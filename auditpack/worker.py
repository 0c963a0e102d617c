"""`auditpack worker`'s wiring: the API's job handlers and the nightly capture as procrastinate tasks (PostgreSQL).

Run any number of these, on any machines: procrastinate hands each job to one of them and defers each firing of
the schedule once. The task functions are the ones `auditpack serve` runs in-process on SQLite.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from datetime import timedelta

from api.app import job_handlers
from api.jobs.queue import QUEUE, defer_seal, defer_shard, make_app, register_tasks, requeue
from api.jobs.worker import JobWorker
from api.scheduler import CaptureScheduler, parse_schedule
from auditpack.api_executors import ShardedCollector, real_executors
from auditpack.api_wiring import schedule_scope
from auditpack.settings import Settings
from auditpack.wiring import open_store
from core import heap
from core.clock import utcnow

log = logging.getLogger("auditpack.worker")
# procrastinate's own connections beside the jobs': fetching, listening, heartbeats, periodic defers.
_EXTRA_CONNECTIONS = 4
APPLICATION_NAME = "auditpack-worker"


def _stalled_seconds(settings: Settings) -> float:
    """A worker silent for three heartbeats is dead: its shards are delivered again (api.jobs.queue)."""
    return 3.0 * settings.job_heartbeat_seconds


def run_worker(settings: Settings, *, concurrency: int) -> None:
    """Run jobs until SIGINT/SIGTERM (procrastinate waits for running jobs, then stops)."""
    # libpq names every connection of this process (SQLAlchemy's and procrastinate's) in pg_stat_activity, so an
    # operator can tell the workers' sessions apart; an application name set by the environment wins.
    os.environ.setdefault("PGAPPNAME", APPLICATION_NAME)
    store = open_store(settings)  # schema checked; runs of dead processes interrupted
    engine = store.engine
    executors = real_executors(settings, store)
    app = make_app(
        engine.url,
        pool_size=concurrency + _EXTRA_CONNECTIONS,
        max_delay_seconds=settings.schedule_grace_minutes * 60.0,  # a missed firing within the grace runs once
    )
    sharded = None
    if settings.collect_shards and executors.collect is not None:
        # the collection job plans and waits; every worker's slots run its shards
        sharded = ShardedCollector(
            settings,
            store,
            lambda run_id, shard: defer_shard(app, run_id, shard),
            lambda run_id: defer_seal(app, run_id),
        )
        executors = replace(executors, collect=sharded)
    handlers = job_handlers(engine=engine, data_dir=settings.data_dir.resolve(), executors=executors, clock=utcnow)
    # Heartbeats of this process's jobs and recovery of dead workers' jobs, as on SQLite; no polling threads.
    # A dead worker's job is queued again (a new run; its own run ends interrupted) up to job_max_attempts times.
    worker = JobWorker(
        engine=engine,
        handlers=handlers,
        threads=0,
        heartbeat_seconds=settings.job_heartbeat_seconds,
        max_attempts=settings.job_max_attempts,
        recover_runs=True,
    )
    trigger = parse_schedule(settings.schedule)
    scheduler = None
    if trigger is not None and executors.collect is not None:
        grace = timedelta(minutes=settings.schedule_grace_minutes)
        scheduler = CaptureScheduler(engine=engine, trigger=trigger, grace=grace, scope=schedule_scope(settings))
    register_tasks(
        app,
        worker=worker,
        engine=engine,
        scheduler=scheduler,
        cron=settings.schedule.strip(),
        sweep_seconds=settings.job_sweep_seconds,
        run_shard=sharded.run_shard if sharded is not None else None,
        seal_run=sharded.seal if sharded is not None else None,
        stalled_seconds=_stalled_seconds(settings),
    )
    worker.start()
    heap.settle()  # after the wiring: the start-up objects stay out of every later collection
    try:
        with app.open():
            moved = requeue(app, engine)
        if moved:
            log.info("handed %d queued job(s) to procrastinate: %s", len(moved), moved)
        log.info(
            "worker started: %d job(s) at once%s",
            concurrency,
            f", nightly capture at '{settings.schedule}' UTC" if scheduler else ", no nightly capture",
        )
        app.run_worker(
            queues=[QUEUE],
            concurrency=concurrency,
            delete_jobs="successful",
            update_heartbeat_interval=float(settings.job_heartbeat_seconds),
            stalled_worker_timeout=_stalled_seconds(settings),
        )
    finally:
        worker.stop(timeout=10)
        engine.dispose()
