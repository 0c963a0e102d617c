"""Faults of `auditpack worker` processes on PostgreSQL (procrastinate), against moto_server behind a proxy that
adds latency, so a collection lasts long enough to be hit mid-way.

- kill -9 of the worker collecting: a surviving worker takes the job over and runs it again; the dead attempt's
  run ends `interrupted` (never looking complete), the new one is sealed with each piece of evidence once, and the
  store verifies.
- every database session of the workers ended mid-run (`pg_terminate_backend`): the run recovers or ends
  `interrupted`/`failed`; no run is left `running` or looks usable without all its evidence; the store verifies.

(Two workers on one periodic firing give one capture: tests/api/test_procrastinate.py.)
"""

from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path

import boto3
import pytest
from sqlalchemy import Engine, func, select, text

from api.models import Job
from evidence.db import session_factory
from evidence.models import Evidence, Run
from tests.api.conftest import wait_for
from tests.api.estate import REGION, build_small_estate
from tests.api.workers import running_workers
from tests.faults.throttle import throttling_proxy
from tests.faults.workers import queue_collection, worker_env
from tests.moto_server import MotoServer, fake_aws_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
CALL_LATENCY = 0.1  # seconds per AWS call: the small estate's collection takes some 5 s at the workers' threads


def _env(db_url: str, endpoint: str, tmp_path: Path, moto_server: MotoServer) -> dict[str, str]:
    return worker_env(db_url, endpoint, tmp_path / "data", moto_server, regions=[REGION])


def _job(engine: Engine, job_id: int) -> Job:
    with session_factory(engine)() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def _evidence_count(engine: Engine, run_id: int) -> int:
    with session_factory(engine)() as session:
        return int(session.scalar(select(func.count()).select_from(Evidence).where(Evidence.run_id == run_id)) or 0)


def _running_run(engine: Engine) -> Run | None:
    with session_factory(engine)() as session:
        return session.scalars(select(Run).where(Run.status == "running")).first()


def test_a_worker_killed_mid_collection_leaves_an_interrupted_run_and_another_worker_seals_the_job(  # type: ignore[no-untyped-def]
    pg_only: None, db_url: str, engine: Engine, moto_server: MotoServer, tmp_path: Path, run_cli, monkeypatch
) -> None:
    moto_server.reset()
    with fake_aws_env(AWS_ENDPOINT_URL=moto_server.url):
        build_small_estate(boto3.Session(region_name=REGION))
    job_id = queue_collection(engine, [REGION])
    with (
        throttling_proxy(moto_server.url, share=0.0, delay=CALL_LATENCY) as proxy,
        running_workers(
            worker_env(db_url, proxy.url, tmp_path / "data", moto_server, regions=[REGION]), tmp_path, 2
        ) as workers,
    ):
        by_pid = {str(w.pid): w for w in workers}
        # Mid-collection: the run is open and AWS has answered a third of the ~95 calls (evidence is written in
        # batches of 500, so a run this small shows none before its end).
        first = wait_for(lambda: proxy.forwarded >= 30 and _running_run(engine), timeout=60, interval=0.05)
        owner = _job(engine, job_id).worker or ""
        victim = by_pid[owner.rpartition(":")[2]]
        assert first.worker == owner  # the run being written is this job's, in that process
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)

        def ended() -> Job | None:
            job = _job(engine, job_id)
            return job if job.status in ("done", "failed", "interrupted") else None

        job = wait_for(ended, timeout=60, interval=0.2)
    outputs = [getattr(w, "output", "") for w in workers]
    assert job.status == "done", (job.status, job.error, outputs)
    assert job.attempts == 2 and job.worker != owner  # run again, by the other worker
    with session_factory(engine)() as session:
        dead = session.get(Run, first.id)
        final = session.get(Run, job.result["run_id"])
        assert dead is not None and final is not None
        # The dead attempt's half-written run is sealed interrupted: never usable as a capture.
        assert dead.status == "interrupted" and dead.digest is not None
        assert final.id != dead.id and final.status in ("complete", "partial") and final.digest is not None
        duplicates = session.execute(
            select(Evidence.account_id, Evidence.region, Evidence.resource_id, Evidence.kind, func.count())
            .where(Evidence.run_id == final.id)
            .group_by(Evidence.account_id, Evidence.region, Evidence.resource_id, Evidence.kind)
            .having(func.count() > 1)
        ).all()
        assert duplicates == []
        assert final.evidence_count == _evidence_count(engine, final.id) > 0
    monkeypatch.setenv("AUDITPACK_DATABASE_URL", db_url)
    verified = run_cli("verify", "--store")
    assert verified.code == 0, verified


def _terminate_backends(engine: Engine, application_name: str) -> int:
    with engine.begin() as connection:
        ended = connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = :name AND pid <> pg_backend_pid()"
            ),
            {"name": application_name},
        ).scalars()
        return sum(1 for ok in ended if ok)


def test_the_workers_database_connections_cut_mid_run_leave_no_half_visible_run(  # type: ignore[no-untyped-def]
    pg_only: None, db_url: str, engine: Engine, moto_server: MotoServer, tmp_path: Path, run_cli, monkeypatch
) -> None:
    moto_server.reset()
    with fake_aws_env(AWS_ENDPOINT_URL=moto_server.url):
        build_small_estate(boto3.Session(region_name=REGION))
    job_id = queue_collection(engine, [REGION])
    application_name = f"auditpack-worker-{uuid.uuid4().hex[:8]}"  # this test's workers only (xdist runs others)
    with throttling_proxy(moto_server.url, share=0.0, delay=CALL_LATENCY) as proxy:
        env = {
            **worker_env(db_url, proxy.url, tmp_path / "data", moto_server, regions=[REGION]),
            "PGAPPNAME": application_name,
        }
        with running_workers(env, tmp_path, 2) as workers:
            wait_for(lambda: proxy.forwarded >= 30 and _running_run(engine), timeout=60, interval=0.05)
            assert _terminate_backends(engine, application_name) > 0

            def ended() -> Job | None:
                job = _job(engine, job_id)
                return job if job.status in ("done", "failed", "interrupted") else None

            job = wait_for(ended, timeout=60, interval=0.2)
            assert any(w.poll() is None for w in workers)  # a worker survives a lost connection
    outputs = [getattr(w, "output", "") for w in workers]
    with session_factory(engine)() as session:
        runs = list(session.scalars(select(Run).order_by(Run.id)))
        assert runs, outputs
        for run in runs:
            # Every run ends sealed; one that looks usable holds all the evidence it counts.
            assert run.status != "running" and run.digest is not None, (run.id, run.status, outputs)
            if run.status in ("complete", "partial"):
                assert run.evidence_count == _evidence_count(engine, run.id) > 0
    if job.status == "done":
        assert job.result["run_id"] == runs[-1].id and runs[-1].status in ("complete", "partial")
    monkeypatch.setenv("AUDITPACK_DATABASE_URL", db_url)
    verified = run_cli("verify", "--store")
    assert verified.code == 0, verified
