import socket
from datetime import timedelta

from sqlalchemy import update

from core.clock import utcnow
from evidence.models import Run, RunStatus
from evidence.store import EvidenceStore
from evidence.verification import verify_store


def _leave_running(store: EvidenceStore, *, worker: str, heartbeat_age: timedelta) -> int:
    run = store.start_run(trigger="schedule", requested_by="nightly", scope={})
    with store.recorder(run.id) as recorder:
        recorder.add(
            account_id="1",
            region="us-east-1",
            service="s3",
            resource_type="bucket",
            resource_id="b",
            kind="k",
            payload={"written": "before the crash"},
        )
    with store.sessions.begin() as session:
        session.execute(
            update(Run).where(Run.id == run.id).values(worker=worker, heartbeat_at=utcnow() - heartbeat_age)
        )
    return run.id


def test_a_run_whose_local_process_died_becomes_interrupted_and_sealed(store: EvidenceStore) -> None:
    dead = _leave_running(store, worker=f"{socket.gethostname()}:999999999", heartbeat_age=timedelta(0))
    restarted = EvidenceStore(store.engine)  # a new process starting up
    assert restarted.recover_interrupted() == [dead]
    run = restarted.get_run(dead)
    assert run.status == RunStatus.INTERRUPTED
    assert run.evidence_count == 1 and run.digest is not None
    assert "its process ended" in (run.error or "")
    assert restarted.latest_run() is None  # interrupted evidence never counts as the latest
    assert verify_store(store.engine).intact


def test_a_remote_run_without_heartbeat_becomes_interrupted(store: EvidenceStore) -> None:
    stale = _leave_running(store, worker="replica-b:42", heartbeat_age=timedelta(hours=1))
    assert EvidenceStore(store.engine).recover_interrupted() == [stale]
    assert "no heartbeat since" in (store.get_run(stale).error or "")


def test_a_live_run_of_another_replica_is_left_alone(store: EvidenceStore) -> None:
    live = _leave_running(store, worker="replica-b:42", heartbeat_age=timedelta(seconds=5))
    assert EvidenceStore(store.engine).recover_interrupted() == []
    assert store.get_run(live).status == RunStatus.RUNNING


def test_opening_the_store_from_the_cli_recovers_dead_runs(store: EvidenceStore, cli_env: dict[str, str]) -> None:
    from auditpack.settings import load_settings
    from auditpack.wiring import open_store

    dead = _leave_running(store, worker=f"{socket.gethostname()}:999999999", heartbeat_age=timedelta(0))
    open_store(load_settings())
    assert store.get_run(dead).status == RunStatus.INTERRUPTED
