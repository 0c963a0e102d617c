"""Jobs on procrastinate (PostgreSQL): the API only defers, `auditpack worker` processes run.

The `api_jobs` rows stay what users see (states, results, errors, retry); procrastinate carries the execution:
one procrastinate job `auditpack.run_job(job_id=N)` per queued row, with the queueing lock `api-job:N` so a row
never waits twice. Its task is `JobWorker.run_job`: the same claim, handler and record the in-process worker runs
on SQLite. A second delivery of a row (a requeue sweep racing a worker) finds it no longer queued and does nothing.

The nightly capture is the periodic task `auditpack.nightly_capture`: procrastinate defers one job per cron
timestamp however many workers run (`procrastinate_periodic_defers` is unique by task and timestamp), and
`CaptureScheduler.fire` (the SQLite path's function) makes it the firing's one collect row, keyed by its time.

procrastinate's tables live beside ours, in the schema the connection's search_path names (migration 0018).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.engine import URL, make_url

from api.services import jobs
from evidence.db import session_factory
from evidence.shards import account_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from procrastinate import App, JobContext, RetryStrategy

    from api.jobs.worker import JobWorker
    from api.scheduler import CaptureScheduler

log = logging.getLogger("auditpack.api.jobs")

QUEUE = "auditpack"
RUN_JOB = "auditpack.run_job"
NIGHTLY_CAPTURE = "auditpack.nightly_capture"
REQUEUE = "auditpack.requeue"
COLLECT_SHARD = "auditpack.collect_shard"
SEAL_RUN = "auditpack.seal_run"
STALLED_SECONDS = 30.0  # a shard whose worker has not beaten for this long is delivered again
SWEEP_SECONDS = 300  # rows queued while no defer reached procrastinate (database hiccup, CLI retry, dead worker)


def sweep_cron(seconds: int) -> str:
    """The sweep's cron: every `seconds` (under a minute: croniter's sixth field), else every whole minutes."""
    if seconds < 60:
        return f"*/{max(1, seconds)} * * * * *"
    return f"*/{seconds // 60} * * * *"


def conninfo(url: str | URL) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL, with its query options (e.g. search_path)."""
    from psycopg.conninfo import make_conninfo

    parsed = make_url(url)
    parts: dict[str, Any] = {
        "host": parsed.host,
        "port": parsed.port,
        "user": parsed.username,
        "password": parsed.password,
        "dbname": parsed.database,
    }
    parts.update({key: value for key, value in parsed.query.items() if isinstance(value, str)})
    return make_conninfo(**{key: value for key, value in parts.items() if value is not None})


def make_app(url: str | URL, *, pool_size: int = 2, max_delay_seconds: float = 600.0) -> App:
    """A procrastinate app on the database at `url`. `max_delay_seconds`: a periodic firing missed by at most this
    much (no worker was running) is deferred when a worker starts; older ones are skipped."""
    from procrastinate import App, PsycopgConnector

    connector = PsycopgConnector(conninfo=conninfo(url), min_size=1, max_size=max(2, pool_size))
    return App(connector=connector, periodic_defaults={"max_delay": max_delay_seconds})


def defer_job(app: App, job_id: int) -> None:
    """Hand the queued row `job_id` to procrastinate (nothing when it already waits there)."""
    from procrastinate.exceptions import AlreadyEnqueued

    with contextlib.suppress(AlreadyEnqueued):
        app.configure_task(RUN_JOB, queue=QUEUE, queueing_lock=f"api-job:{job_id}").defer(job_id=job_id)


async def defer_job_async(app: App, job_id: int) -> None:
    from procrastinate.exceptions import AlreadyEnqueued

    with contextlib.suppress(AlreadyEnqueued):
        await app.configure_task(RUN_JOB, queue=QUEUE, queueing_lock=f"api-job:{job_id}").defer_async(job_id=job_id)


def defer_shard(app: App, run_id: int, shard: str) -> None:
    """Hand one shard of a sharded run to the workers: the lock `account:<id>` runs one shard of an account at a
    time, whichever run it belongs to (two runs never collect one account at once); the queueing lock keeps one
    delivery of a shard waiting."""
    from procrastinate.exceptions import AlreadyEnqueued

    account = account_of(shard)
    task = app.configure_task(
        COLLECT_SHARD,
        queue=QUEUE,
        lock=f"account:{account}" if account else None,
        queueing_lock=f"shard:{run_id}:{shard}",
    )
    with contextlib.suppress(AlreadyEnqueued):
        task.defer(run_id=run_id, shard=shard)


def defer_seal(app: App, run_id: int) -> None:
    """Hand the seal of a sharded run to the workers (its last shard does); the queueing lock `seal:<run_id>` keeps
    one waiting when two last shards end at once."""
    from procrastinate.exceptions import AlreadyEnqueued

    with contextlib.suppress(AlreadyEnqueued):
        app.configure_task(SEAL_RUN, queue=QUEUE, queueing_lock=f"seal:{run_id}").defer(run_id=run_id)


def requeue(app: App, engine: Engine) -> list[int]:
    """Hand every queued row to procrastinate: rows queued before it ran the jobs (the upgrade), or whose defer
    never arrived. Returns their ids."""
    queued = _queued_ids(engine)
    for job_id in queued:
        defer_job(app, job_id)
    return queued


def _queued_ids(engine: Engine) -> list[int]:
    with session_factory(engine)() as session:
        return jobs.queued_ids(session, limit=10_000)


class ProcrastinateQueue:
    """The API's side: defer the execution of queued rows; nothing runs in the API process."""

    def __init__(self, url: str | URL) -> None:
        self.app = make_app(url)

    def open(self) -> None:
        self.app.open()

    def close(self) -> None:
        self.app.close()

    def dispatch(self, job_id: int) -> None:
        try:
            defer_job(self.app, job_id)
        except Exception:  # the row is committed and queued: the workers' requeue sweep hands it over later
            log.exception("job %s is queued but could not be handed to the workers yet", job_id)


def register_tasks(
    app: App,
    *,
    worker: JobWorker,
    engine: Engine,
    scheduler: CaptureScheduler | None,
    cron: str,
    sweep_seconds: int = SWEEP_SECONDS,
    run_shard: Callable[[int, str, bool], None] | None = None,
    seal_run: Callable[[int], None] | None = None,
    stalled_seconds: float = STALLED_SECONDS,
    shard_retry: RetryStrategy | None = None,
) -> None:
    """The worker's tasks: each calls the function the in-process path calls. `run_shard(run_id, shard,
    last_attempt)`: one shard of a sharded collection (evidence.shards), retried by `shard_retry` (by default
    api.jobs.shard_retry.SHARD_RETRY) when it breaks unexpectedly, and `seal_run(run_id)` its seal, when
    collections are sharded."""
    from api.jobs.shard_retry import SHARD_RETRY, last_attempt

    retry = shard_retry or SHARD_RETRY

    @app.task(name=RUN_JOB, queue=QUEUE)
    def run_job(job_id: int) -> None:
        worker.run_job(job_id)

    if run_shard is not None:

        @app.task(name=COLLECT_SHARD, queue=QUEUE, retry=retry, pass_context=True)
        def collect_shard(context: JobContext, run_id: int, shard: str) -> None:
            run_shard(run_id, shard, last_attempt(context.job, retry))

    if seal_run is not None:

        @app.task(name=SEAL_RUN, queue=QUEUE)
        def seal_run_task(run_id: int) -> None:
            seal_run(run_id)

    @app.periodic(cron=sweep_cron(sweep_seconds), periodic_id="sweep")
    @app.task(name=REQUEUE, queue=QUEUE)
    async def requeue_task(timestamp: int) -> None:
        from procrastinate.jobs import Status

        for job_id in await asyncio.to_thread(_queued_ids, engine):
            await defer_job_async(app, job_id)
        # A worker that died mid-job leaves its procrastinate job `doing`; the surviving workers' recovery queues
        # its row again (handed over just above) or marks it interrupted, so the stalled execution is closed.
        for stalled in await app.job_manager.get_stalled_jobs(queue=QUEUE, task_name=RUN_JOB):
            assert stalled.id is not None
            await app.job_manager.finish_job_by_id_async(stalled.id, status=Status.FAILED, delete_job=False)
        # A shard whose worker died is delivered again (stalled-job retry): it wrote nothing, so it is collected
        # whole, once (evidence.shards); until then its `doing` job holds its account's lock.
        for stalled in await app.job_manager.get_stalled_jobs(
            queue=QUEUE, task_name=COLLECT_SHARD, seconds_since_heartbeat=stalled_seconds
        ):
            await app.job_manager.retry_job(stalled)

    if scheduler is None:
        return

    @app.periodic(cron=cron, periodic_id="nightly")
    @app.task(name=NIGHTLY_CAPTURE, queue=QUEUE)
    async def nightly_capture(timestamp: int) -> None:
        job = await asyncio.to_thread(scheduler.fire, datetime.fromtimestamp(timestamp, UTC))
        if job is not None:  # None: this firing was already queued (its row is handed over by whoever made it)
            await defer_job_async(app, job.id)
