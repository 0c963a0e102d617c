"""Collections and packet builds run as database-backed jobs; a job whose process dies is recovered as
interrupted at the next start and can be retried."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.executors import Executors
from api.models import Job, Packet
from core.clock import utcnow
from evidence.db import session_factory
from tests.api.conftest import auth, wait_for
from tests.api.executors import StoreCollector

ROOT = Path(__file__).resolve().parents[2]


def _job(client: TestClient, secret: str, job_id: int) -> dict:
    return client.get(f"/v1/jobs/{job_id}", headers=auth(secret)).json()


def test_a_run_request_returns_at_once_and_the_job_names_the_run(
    client: TestClient, officer: str, collector: StoreCollector
) -> None:
    response = client.post(
        "/v1/runs", json={"accounts": ["123456789012"], "regions": ["us-east-1", "eu-west-1"]}, headers=auth(officer)
    )
    assert response.status_code == 202
    job = response.json()
    assert job["kind"] == "collect" and job["status"] in ("queued", "running", "done")
    assert response.headers["location"] == f"/v1/jobs/{job['id']}"
    done = wait_for(lambda: (j := _job(client, officer, job["id"]))["status"] == "done" and j)
    run = client.get(f"/v1/runs/{done['run_id']}", headers=auth(officer)).json()
    assert run["status"] == "partial" and run["trigger"] == "api"
    assert run["evidence_count"] == 3 and run["gap_count"] == 1 and not run["gaps_truncated"]
    assert run["gaps"][0]["error_code"] == "AccessDenied" and run["gaps"][0]["operation"] == "DescribeInstances"
    assert run["digest"] and len(run["digest"]) == 64
    scope, requested_by, trigger = collector.calls[0]
    assert scope.accounts == ("123456789012",) and scope.regions == ("us-east-1", "eu-west-1")
    assert requested_by.startswith("officer token") and requested_by.endswith("(officer)")
    assert trigger == "api"
    listed = client.get("/v1/runs", headers=auth(officer)).json()["items"]
    assert [r["id"] for r in listed] == [done["run_id"]]


def test_a_repeated_run_request_with_the_same_key_starts_one_collection(
    client: TestClient, officer: str, collector: StoreCollector
) -> None:
    headers = {**auth(officer), "Idempotency-Key": "nightly-2026-11-27"}
    first = client.post("/v1/runs", json={"regions": ["us-east-1"]}, headers=headers).json()
    second = client.post("/v1/runs", json={"regions": ["us-east-1"]}, headers=headers)
    assert second.json()["id"] == first["id"] and second.headers["idempotent-replayed"] == "true"
    wait_for(lambda: _job(client, officer, first["id"])["status"] == "done")
    assert len(collector.calls) == 1
    other = client.post("/v1/runs", json={"regions": ["eu-west-1"]}, headers=headers)
    assert other.status_code == 422


def test_without_a_collector_runs_answer_not_configured(make_app, officer: str, builder) -> None:  # type: ignore[no-untyped-def]
    with TestClient(make_app(executors=Executors(build_packet=builder))) as client:
        response = client.post("/v1/runs", json={}, headers=auth(officer))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "not_configured"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"organization": True, "accounts": ["123456789012"]}, "either --org or --account"),
        ({"regions": ["xx-nowhere-north-1"]}, "is not a region name"),
    ],
)
def test_a_scope_the_collector_would_refuse_is_refused_before_queueing(  # type: ignore[no-untyped-def]
    client: TestClient, officer: str, collector, body: dict, says: str
) -> None:
    response = client.post("/v1/runs", json=body, headers=auth(officer))
    assert response.status_code == 400 and says in response.json()["error"]["message"]
    assert client.get("/v1/jobs", headers=auth(officer)).json()["items"] == [] and collector.calls == []


_CRASHING_WORKER = textwrap.dedent(
    """
    import sys, time
    from api.jobs.worker import JobWorker
    from evidence.db import make_engine

    def hang(job):
        print(f"running {job.id}", flush=True)
        time.sleep(600)

    worker = JobWorker(engine=make_engine(sys.argv[1]), handlers={"packet": hang}, threads=1, poll_seconds=0.05)
    worker.start()
    time.sleep(600)
    """
)


def test_a_job_killed_with_its_process_is_interrupted_at_start_up_and_can_be_retried(
    make_app,
    db_url: str,
    engine: Engine,
    officer: str,
    data_dir: Path,
    cli_env,
    run_cli,  # type: ignore[no-untyped-def]
) -> None:
    # Queue a packet without any worker running here.
    with TestClient(make_app(run_background=False)) as client:
        packet = client.post("/v1/packets", json={"framework": "hipaa"}, headers=auth(officer)).json()
    # Another process claims it and dies mid-build (SIGKILL: no chance to clean up).
    process = subprocess.Popen(
        [sys.executable, "-c", _CRASHING_WORKER, db_url], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == f"running {packet['job_id']}"
        with session_factory(engine)() as session:
            job = session.get(Job, packet["job_id"])
            assert job.status == "running" and job.worker.endswith(f":{process.pid}")
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    # The service starts again: the job is interrupted (not left running), its packet failed, saying why.
    with TestClient(make_app()) as client:
        job = _job(client, officer, packet["job_id"])
        assert job["status"] == "interrupted"
        assert f":{process.pid} stopped before the job ended (its process ended)" in job["error"]
        failed = client.get(f"/v1/packets/{packet['id']}", headers=auth(officer)).json()
        assert failed["status"] == "failed" and failed["error"] == job["error"]
        listed = json.loads(run_cli("jobs", "list", "--status", "interrupted", "--format", "json").stdout)
        assert [j["id"] for j in listed] == [packet["job_id"]]
        leftover = data_dir / "packets" / f".staging-{packet['id']}-deadbeef"  # what a build killed midway leaves
        leftover.mkdir(parents=True)
        (leftover / "packet.pdf").write_bytes(b"%PDF-1.7 half written")
        retried = client.post(f"/v1/jobs/{packet['job_id']}/retry", headers=auth(officer))
        assert retried.status_code == 202 and retried.json()["status"] in ("queued", "running", "done")
        done = wait_for(lambda: (j := _job(client, officer, packet["job_id"]))["status"] == "done" and j)
        assert done["attempts"] == 2
        ready = client.get(f"/v1/packets/{packet['id']}", headers=auth(officer)).json()
        assert ready["status"] == "ready" and ready["error"] is None
        assert (data_dir / "packets" / packet["id"] / "packet.pdf").is_file()
        assert not leftover.exists()
        again = client.post(f"/v1/jobs/{packet['job_id']}/retry", headers=auth(officer))
        assert again.status_code == 409 and "only failed or interrupted" in again.json()["error"]["message"]


def test_jobs_of_a_replica_that_stopped_beating_are_recovered(make_app, engine: Engine, officer: str) -> None:
    with TestClient(make_app(run_background=False)) as client:
        packet = client.post("/v1/packets", json={"framework": "soc2"}, headers=auth(officer)).json()
    with session_factory(engine)() as session:
        job = session.get(Job, packet["job_id"])
        job.status, job.worker = "running", "other-host:4242"
        job.started_at = job.heartbeat_at = utcnow() - timedelta(minutes=10)
        session.commit()
    with TestClient(make_app()) as client:
        job = _job(client, officer, packet["job_id"])
    assert job["status"] == "interrupted" and "no heartbeat since" in job["error"]


def test_a_live_job_of_another_worker_is_left_alone(make_app, engine: Engine, officer: str) -> None:
    with TestClient(make_app(run_background=False)) as client:
        packet = client.post("/v1/packets", json={"framework": "soc2"}, headers=auth(officer)).json()
    with session_factory(engine)() as session:
        job = session.get(Job, packet["job_id"])
        job.status, job.worker = "running", f"other-host:{os.getpid()}"
        job.started_at = job.heartbeat_at = utcnow()
        session.commit()
    with TestClient(make_app()) as client:
        assert _job(client, officer, packet["job_id"])["status"] == "running"
        with session_factory(engine)() as session:
            untouched = session.get(Packet, packet["id"])
            assert untouched.status == "queued" and untouched.error is None


def test_jobs_retry_command(make_app, engine: Engine, officer: str, builder, cli_env, run_cli) -> None:  # type: ignore[no-untyped-def]
    builder.fail_with = RuntimeError("disk full")
    with TestClient(make_app()) as client:
        packet = client.post("/v1/packets", json={"framework": "hipaa"}, headers=auth(officer)).json()
        failed = wait_for(lambda: (j := _job(client, officer, packet["job_id"]))["status"] == "failed" and j)
        assert failed["error"] == "RuntimeError: disk full"
        builder.fail_with = None
        result = run_cli("jobs", "retry", str(packet["job_id"]))
        assert result.code == 0 and "queued again" in result.stdout
        client.app.state.context.job_queued(packet["job_id"])
        wait_for(lambda: client.get(f"/v1/packets/{packet['id']}", headers=auth(officer)).json()["status"] == "ready")


def test_a_dead_workers_job_is_queued_again_until_its_attempts_run_out(engine: Engine) -> None:
    from api.models import JobKind
    from api.services import jobs

    now = utcnow()
    with session_factory(engine)() as session:
        job, _ = jobs.enqueue(session, kind=JobKind.COLLECT, payload={}, requested_by="x", now=now)
        for attempt in (1, 2):
            assert jobs.claim(session, job_id=job.id, worker="gone-host:1", now=now) is not None
            later = now + timedelta(minutes=10)  # no heartbeat since
            taken = jobs.recover_interrupted(
                session, worker="me:2", now=later, stale_after=timedelta(minutes=2), max_attempts=2
            )
            assert taken == [job.id]
            session.refresh(job)
            if attempt == 1:  # run again from the start by whichever worker claims it
                assert job.status == "queued" and job.worker is None and "attempt 2 of 2" in (job.error or "")
            else:  # the last attempt died too: left for a person
                assert job.status == "interrupted" and "retry it" in (job.error or "")
