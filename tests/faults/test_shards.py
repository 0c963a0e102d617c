"""Sharded collections on `auditpack worker` processes (AUDITPACK_COLLECT_SHARDS, PostgreSQL): the shards spread
over the workers give the same evidence and findings as one in-process collection, a shard whose worker gets
kill -9 is delivered again and collected once, and two runs of one account never collect it at once."""

from __future__ import annotations

import os
import signal
from collections import Counter
from itertools import pairwise
from pathlib import Path

import boto3
import pytest
from sqlalchemy import Engine, select

from api.models import Job
from evidence.aws.scope import CollectionScope
from evidence.db import session_factory
from evidence.findings import load_findings
from evidence.models import Evidence, Run, RunShard
from evidence.orchestrator import collect
from evidence.shards import PLAN
from evidence.store import EvidenceStore
from tests.api.conftest import wait_for
from tests.api.estate import REGION, build_small_estate
from tests.api.workers import running_workers, start_worker
from tests.faults.throttle import throttling_proxy
from tests.faults.workers import queue_collection, worker_env
from tests.moto_server import MotoServer, fake_aws_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
REGIONS = (REGION, "eu-west-1")


def _env(db_url: str, endpoint: str, data_dir: Path, moto_server: MotoServer) -> dict[str, str]:
    sharded = {"AUDITPACK_COLLECT_SHARDS": "true", "AUDITPACK_CHANGE_LOOKUPS": "false"}
    return worker_env(db_url, endpoint, data_dir, moto_server, regions=REGIONS, extra=sharded)


def _ended(engine: Engine, job_id: int) -> Job | None:
    with session_factory(engine)() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job if job.status in ("done", "failed", "interrupted") else None


def _evidence(engine: Engine, run_id: int) -> Counter[tuple[str, ...]]:
    with session_factory(engine)() as session:
        rows = session.execute(
            select(Evidence.account_id, Evidence.region, Evidence.kind, Evidence.resource_id, Evidence.sha256).where(
                Evidence.run_id == run_id
            )
        )
        return Counter(tuple(row) for row in rows)


def _shards(engine: Engine, run_id: int) -> dict[str, RunShard]:
    with session_factory(engine)() as session:
        return {row.shard: row for row in session.scalars(select(RunShard).where(RunShard.run_id == run_id))}


def _verdicts(store: EvidenceStore, run_id: int) -> Counter[tuple[str, ...]]:
    return Counter(
        (f.check_id, f.account_id, f.region, f.resource_id, f.status.value) for f in load_findings(store, run_id)
    )


def test_shards_on_two_workers_equal_one_collection(  # type: ignore[no-untyped-def]
    pg_only: None, db_url: str, engine: Engine, moto_server: MotoServer, tmp_path: Path, run_cli
) -> None:
    moto_server.reset()
    store = EvidenceStore(engine)
    with fake_aws_env(AWS_ENDPOINT_URL=moto_server.url):
        build_small_estate(boto3.Session(region_name=REGION))
        whole = collect(store, CollectionScope(regions=REGIONS, max_attempts=2), trigger="api", requested_by="x")
    job_id = queue_collection(engine, REGIONS)
    with running_workers(_env(db_url, moto_server.url, tmp_path / "data", moto_server), tmp_path, 2, concurrency=2):
        job = wait_for(lambda: _ended(engine, job_id), timeout=120, interval=0.2)
    assert job.status == "done", (job.status, job.error)
    sharded = store.get_run(job.result["run_id"])
    assert sharded.status == whole.status and sharded.digest is not None
    assert _evidence(engine, sharded.id) == _evidence(engine, whole.id)
    assert _verdicts(store, sharded.id) == _verdicts(store, whole.id)
    shards = _shards(engine, sharded.id)
    accounts = {key.split("/")[0] for key in shards if key != PLAN}
    assert len(accounts) == 1
    assert set(shards) == {PLAN} | {f"{a}/{r}" for a in accounts for r in ("global", *REGIONS)}
    assert {row.state for row in shards.values()} == {"done"}
    assert run_cli("verify", "--store").code == 0


def test_a_shard_whose_worker_is_killed_is_collected_once_by_another(  # type: ignore[no-untyped-def]
    pg_only: None, db_url: str, engine: Engine, moto_server: MotoServer, tmp_path: Path, run_cli
) -> None:
    moto_server.reset()
    with fake_aws_env(AWS_ENDPOINT_URL=moto_server.url):
        build_small_estate(boto3.Session(region_name=REGION))
    job_id = queue_collection(engine, REGIONS)
    with throttling_proxy(moto_server.url, share=0.0, delay=0.1) as proxy:
        env = _env(db_url, proxy.url, tmp_path / "data", moto_server)
        # The first worker's one slot takes the collection job (it plans and waits); the second runs the shards.
        with running_workers(env, tmp_path, 1) as planner:
            wait_for(lambda: _running_run(engine), timeout=60, interval=0.1)
            victim = start_worker(env, tmp_path, 2)
            try:
                run = _running_run(engine)
                assert run is not None
                shard = wait_for(lambda: _collecting(engine, run.id), timeout=60, interval=0.05)
                forwarded = proxy.forwarded
                wait_for(lambda: proxy.forwarded >= forwarded + 5, timeout=30, interval=0.05)  # mid-shard
                os.kill(victim.pid, signal.SIGKILL)
                victim.wait(timeout=10)
            finally:
                if victim.poll() is None:
                    victim.kill()
                victim.communicate()
            with running_workers(env, tmp_path, 1, concurrency=2):
                job = wait_for(lambda: _ended(engine, job_id), timeout=120, interval=0.2)
    assert all(w.returncode == 0 for w in planner), [getattr(w, "output", "") for w in planner]
    assert job.status == "done", (job.status, job.error)
    final = EvidenceStore(engine).get_run(job.result["run_id"])
    assert final.id == run.id and final.status in ("complete", "partial")  # the same run, not a new one
    shards = _shards(engine, run.id)
    assert shards[shard].attempt == 2  # delivered again after its worker died
    counted = _evidence(engine, run.id)
    assert max(counted.values()) == 1
    assert sum(row.evidence_count for row in shards.values()) == final.evidence_count == sum(counted.values())
    assert run_cli("verify", "--store").code == 0


def test_two_runs_of_one_account_never_collect_it_at_once(  # type: ignore[no-untyped-def]
    pg_only: None, db_url: str, engine: Engine, moto_server: MotoServer, tmp_path: Path
) -> None:
    moto_server.reset()
    with fake_aws_env(AWS_ENDPOINT_URL=moto_server.url):
        build_small_estate(boto3.Session(region_name=REGION))
    job_ids = [queue_collection(engine, REGIONS), queue_collection(engine, REGIONS)]
    with (
        throttling_proxy(moto_server.url, share=0.0, delay=0.02) as proxy,
        running_workers(_env(db_url, proxy.url, tmp_path / "data", moto_server), tmp_path, 2, concurrency=4),
    ):
        ended = [wait_for(lambda j=j: _ended(engine, j), timeout=120, interval=0.2) for j in job_ids]
    assert [job.status for job in ended] == ["done", "done"], [(job.status, job.error) for job in ended]
    collected = [
        (row.started_at, row.finished_at, run_id, key)
        for run_id in (job.result["run_id"] for job in ended)
        for key, row in _shards(engine, run_id).items()
        if key != PLAN
    ]
    assert {run_id for *_, run_id, _ in collected} == {job.result["run_id"] for job in ended}
    # The account's lock: its shards ran one at a time, whichever run each belonged to.
    collected.sort()
    for (_, finished, *_), (started, _, *_) in pairwise(collected):
        assert finished is not None and started is not None and finished <= started, collected


def _running_run(engine: Engine) -> Run | None:
    with session_factory(engine)() as session:
        return session.scalars(select(Run).where(Run.status == "running")).first()


def _collecting(engine: Engine, run_id: int) -> str | None:
    """A shard being collected (other than the plan, which is quick)."""
    running = [key for key, row in _shards(engine, run_id).items() if row.state == "running" and key != PLAN]
    return running[0] if running else None
