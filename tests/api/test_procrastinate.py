"""Jobs on procrastinate with PostgreSQL: the API only queues, `auditpack worker` processes run the jobs and the
nightly capture. procrastinate's schema comes from our migrations and lives in the test's own schema.

Two workers start against moto_server: a collection requested through the API, a collection queued before the
workers existed (as after the upgrade) and the nightly firing of a minute ago all run, each once, and the API
shows their outcome.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text

from api.models import Job, JobKind
from api.services import jobs
from auditpack.api_wiring import build_app
from auditpack.settings import load_settings
from core.vocabulary import Role
from evidence.db import make_engine, session_factory
from evidence.models import Run
from migrations.schema import alembic_config, upgrade_schema
from tests.api.conftest import auth, issue, wait_for
from tests.api.estate import REGION, build_small_estate
from tests.api.workers import running_workers
from tests.conftest import PG_URL, schema_url
from tests.moto_server import MotoServer, fake_aws_env

PROCRASTINATE_TABLES = {
    "procrastinate_jobs",
    "procrastinate_workers",
    "procrastinate_events",
    "procrastinate_periodic_defers",
}


@pytest.fixture
def pg_only(db_url: str) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("procrastinate runs jobs with PostgreSQL only; SQLite runs them in-process")


def _procrastinate_tables(engine: Engine, schema: str) -> set[str]:
    with engine.connect() as connection:
        names = connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = :s AND tablename LIKE 'procrastinate%'"),
            {"s": schema},
        )
        return set(names.scalars())


def test_the_migrations_install_and_remove_procrastinate_in_the_databases_schema(pg_only: None) -> None:
    admin = make_engine(PG_URL)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(schema_url(PG_URL, schema))
    try:
        upgrade_schema(engine)
        assert _procrastinate_tables(admin, schema) == PROCRASTINATE_TABLES
        assert not _procrastinate_tables(admin, "public")  # nothing lands outside the search_path's schema
        command.downgrade(alembic_config(engine), "0017")
        assert _procrastinate_tables(admin, schema) == set()
        with admin.connect() as connection:
            left = connection.execute(
                text(
                    "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                    "WHERE n.nspname = :s AND p.proname LIKE 'procrastinate%'"
                ),
                {"s": schema},
            ).scalar()
        assert left == 0
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_two_workers_run_api_jobs_queued_jobs_and_one_nightly_capture(  # type: ignore[no-untyped-def]
    pg_only: None, db_url: str, engine: Engine, moto_server: MotoServer, tmp_path: Path, monkeypatch
) -> None:
    moto_server.reset()
    a_minute_ago = datetime.now(UTC) - timedelta(minutes=1)  # the latest firing is past; the next is a day away
    env = {
        **moto_server.env(),
        "AUDITPACK_DATABASE_URL": db_url,
        "AUDITPACK_DATA_DIR": str(tmp_path / "data"),
        "AUDITPACK_JOB_QUEUE": "auto",
        "AUDITPACK_SCHEDULE": f"{a_minute_ago.minute} {a_minute_ago.hour} * * *",
        "AUDITPACK_REGIONS": REGION,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    officer = auth(issue(engine, Role.OFFICER, note="officer")[1])
    with session_factory(engine)() as session:  # queued before procrastinate ran the jobs (the upgrade)
        earlier, _ = jobs.enqueue(
            session,
            kind=JobKind.COLLECT,
            payload={"scope": {"regions": [REGION]}, "requested_by": "earlier", "trigger": "api"},
            requested_by="earlier",
            now=datetime.now(UTC),
        )

    with fake_aws_env(AWS_ENDPOINT_URL=moto_server.url):
        build_small_estate(boto3.Session(region_name=REGION))
        with TestClient(build_app(load_settings())) as client:
            started = client.post("/v1/runs", json={"regions": [REGION]}, headers=officer)
            assert started.status_code == 202, started.text
            requested = started.json()["id"]
            # The API runs nothing itself: the job waits for a worker.
            assert client.get(f"/v1/jobs/{requested}", headers=officer).json()["status"] == "queued"
            with running_workers(env, tmp_path, 2) as workers:

                def settled(job_id: int) -> dict | None:  # type: ignore[type-arg]
                    assert all(w.poll() is None for w in workers), "a worker exited"
                    job = client.get(f"/v1/jobs/{job_id}", headers=officer).json()
                    return job if job["status"] in ("done", "failed", "interrupted") else None

                done = wait_for(lambda: settled(requested), timeout=120, interval=0.5)
                assert done["status"] == "done", done
                run = client.get(f"/v1/runs/{done['run_id']}", headers=officer).json()
                assert run["status"] in ("complete", "partial") and run["evidence_count"] > 0
                assert wait_for(lambda: settled(earlier.id), timeout=120, interval=0.5)["status"] == "done"

                def nightly() -> list[Job]:
                    with session_factory(engine)() as session:
                        query = select(Job).where(Job.kind == JobKind.COLLECT.value, Job.idempotency_key.is_not(None))
                        return list(session.scalars(query))

                wait_for(lambda: (found := nightly()) and settled(found[0].id), timeout=120)
    outputs = [w.output for w in workers]  # type: ignore[attr-defined]
    assert [w.returncode for w in workers] == [0, 0], outputs
    worker_pids = {str(w.pid) for w in workers}
    with session_factory(engine)() as session:
        ran_on = {job.worker.rpartition(":")[2] for job in session.scalars(select(Job))}
        assert ran_on <= worker_pids  # every job ran in a worker process, none in the API's
        schedule_runs = session.scalar(select(func.count()).select_from(Run).where(Run.trigger == "schedule"))
    scheduled = nightly()
    assert len(scheduled) == 1 and scheduled[0].status == "done", [(job.id, job.status, job.error) for job in scheduled]
    assert schedule_runs == 1  # one capture for one firing, with two workers deferring it


def test_jobs_retry_hands_the_job_to_the_workers(pg_only: None, engine: Engine, cli_env, run_cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AUDITPACK_JOB_QUEUE", "auto")
    with session_factory(engine)() as session:
        job, _ = jobs.enqueue(session, kind=JobKind.COLLECT, payload={}, requested_by="someone", now=datetime.now(UTC))
        claimed = jobs.claim(session, job_id=job.id, worker="gone:1", now=datetime.now(UTC))
        assert claimed is not None
        jobs.fail(session, job_id=job.id, worker="gone:1", now=datetime.now(UTC), error="boom")
    result = run_cli("jobs", "retry", str(job.id))
    assert result.code == 0 and "queued again" in result.stdout
    with engine.connect() as connection:
        waiting = connection.execute(
            text("SELECT args FROM procrastinate_jobs WHERE task_name = 'auditpack.run_job' AND status = 'todo'")
        ).scalars()
        assert list(waiting) == [{"job_id": job.id}]


def test_the_sweep_hands_over_queued_rows_and_closes_executions_of_dead_workers(  # type: ignore[no-untyped-def]
    pg_only: None, db_url: str, engine: Engine
) -> None:
    import asyncio

    from api.jobs.queue import REQUEUE, RUN_JOB, defer_job, make_app, register_tasks
    from api.jobs.worker import JobWorker

    with session_factory(engine)() as session:  # a row whose hand-over never happened, and one that was handed over
        lost, _ = jobs.enqueue(session, kind=JobKind.COLLECT, payload={}, requested_by="x", now=datetime.now(UTC))
        taken, _ = jobs.enqueue(session, kind=JobKind.COLLECT, payload={}, requested_by="x", now=datetime.now(UTC))
    app = make_app(db_url)
    register_tasks(app, worker=JobWorker(engine=engine, handlers={}, threads=0), engine=engine, scheduler=None, cron="")
    with app.open():
        defer_job(app, taken.id)
    with session_factory(engine)() as session:  # its worker took it, then died (no heartbeat for an hour)
        assert jobs.claim(session, job_id=taken.id, worker="gone:1", now=datetime.now(UTC)) is not None
    with engine.begin() as connection:
        dead = connection.execute(
            text("INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now() - interval '1 hour') RETURNING id")
        ).scalar()
        connection.execute(
            text("UPDATE procrastinate_jobs SET status = 'doing', worker_id = :w WHERE args->>'job_id' = :j"),
            {"w": dead, "j": str(taken.id)},
        )

    async def sweep() -> None:
        async with app.open_async():
            await app.tasks[REQUEUE](timestamp=0)

    asyncio.run(sweep())
    with engine.connect() as connection:
        states = connection.execute(
            text("SELECT (args->>'job_id')::int, status::text FROM procrastinate_jobs WHERE task_name = :t"),
            {"t": RUN_JOB},
        ).all()
    assert sorted(states) == sorted([(lost.id, "todo"), (taken.id, "failed")])


def test_auditpack_worker_on_sqlite_says_that_serve_runs_the_jobs(sqlite_only: None, cli_env, run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("worker")
    assert result.code == 2
    assert "jobs run inside `auditpack serve`" in result.stderr and "needs PostgreSQL" in result.stderr


def test_the_sweep_runs_at_the_configured_cadence() -> None:
    from api.jobs.queue import sweep_cron

    assert sweep_cron(300) == "*/5 * * * *"
    assert sweep_cron(1) == "*/1 * * * * *"  # croniter's sixth field: seconds (the fault suite's quick take-over)


def test_a_sharded_runs_seal_is_a_task_of_its_own_waiting_once(pg_only: None, db_url: str, engine: Engine) -> None:
    from api.jobs.queue import SEAL_RUN, defer_seal, make_app, register_tasks
    from api.jobs.worker import JobWorker

    sealed: list[int] = []
    app = make_app(db_url)
    register_tasks(
        app,
        worker=JobWorker(engine=engine, handlers={}, threads=0),
        engine=engine,
        scheduler=None,
        cron="",
        run_shard=lambda run_id, shard: None,
        seal_run=sealed.append,
    )
    with app.open():
        defer_seal(app, 7)
        defer_seal(app, 7)  # two last shards ending at once: one seal waits
        defer_seal(app, 8)
    with engine.connect() as connection:
        waiting = connection.execute(
            text("SELECT args, queueing_lock FROM procrastinate_jobs WHERE task_name = :t AND status = 'todo'"),
            {"t": SEAL_RUN},
        ).all()
    assert sorted((args["run_id"], lock) for args, lock in waiting) == [(7, "seal:7"), (8, "seal:8")]
    app.tasks[SEAL_RUN](run_id=7)
    assert sealed == [7]


@pytest.mark.parametrize("breaks", [1, 9])
def test_a_shard_that_breaks_is_retried_and_only_its_last_attempt_may_fail_the_run(
    sqlite_only: None, engine: Engine, breaks: int
) -> None:
    """procrastinate's own worker (in-memory queue) retries the shard task: the run is failed only by the shard's
    last attempt, and a shard that broke once is collected by its retry."""
    from procrastinate import App, testing
    from procrastinate.jobs import Status

    from api.jobs.queue import COLLECT_SHARD, QUEUE, defer_shard, register_tasks
    from api.jobs.shard_retry import ShardRetry
    from api.jobs.worker import JobWorker

    attempts: list[bool] = []  # each execution: was it the last attempt?

    def run_shard(run_id: int, shard: str, last_attempt: bool) -> None:
        attempts.append(last_attempt)
        if len(attempts) <= breaks:
            raise RuntimeError("a passing fault")

    app = App(connector=testing.InMemoryConnector())
    register_tasks(
        app,
        worker=JobWorker(engine=engine, handlers={}, threads=0),
        engine=engine,
        scheduler=None,
        cron="",
        run_shard=run_shard,
        shard_retry=ShardRetry(max_attempts=2, wait=0),
    )
    with app.open():
        defer_shard(app, 1, "123456789012/us-east-1")
        app.run_worker(queues=[QUEUE], wait=False, install_signal_handlers=False, listen_notify=False)
        [job] = [j for j in app.connector.jobs.values() if j["task_name"] == COLLECT_SHARD]  # type: ignore[attr-defined]
    if breaks == 1:
        assert attempts == [False, False] and job["status"] == Status.SUCCEEDED.value
    else:  # two retries, then the last attempt (the one that records the shard and its run failed) fails the job
        assert attempts == [False, False, True] and job["status"] == Status.FAILED.value


def test_a_shard_that_cannot_proceed_is_not_retried() -> None:
    from procrastinate.jobs import Job

    from api.jobs.shard_retry import SHARD_RETRY, last_attempt
    from evidence.aws.accounts import CollectionFailed

    first = Job(id=1, queue="auditpack", lock=None, queueing_lock=None, task_name="t", attempts=0)
    assert SHARD_RETRY.get_retry_decision(exception=RuntimeError("x"), job=first) is not None
    assert SHARD_RETRY.get_retry_decision(exception=CollectionFailed("no Organization"), job=first) is None
    assert not last_attempt(first, SHARD_RETRY)
    assert last_attempt(first.evolve(attempts=3), SHARD_RETRY)
