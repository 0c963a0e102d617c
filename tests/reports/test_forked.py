"""A packet stage in a forked process (reports.forked): its result or its error comes back, and the parent's
database connections survive the child."""

from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import Engine, func, select

from evidence.db import make_engine
from evidence.models import Run
from evidence.store import EvidenceStore
from reports.errors import PacketBuildError
from reports.forked import Forked


def _runs(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(Run)).scalar_one())


def test_a_stage_reads_the_database_in_its_own_process_and_leaves_the_parents_connection_working(
    store: EvidenceStore,
) -> None:
    store.start_run(trigger="cli", requested_by="test", scope={})
    with store.engine.connect() as connection:  # a pooled connection the child inherits
        before = connection.connection.dbapi_connection
    job = Forked(store.engine, lambda: (os.getpid(), _runs(store.engine)))
    child_pid, runs = job.result()
    assert child_pid != os.getpid()
    assert runs == 1
    with store.engine.connect() as connection:  # the same connection, still usable (no reconnect behind it)
        assert connection.connection.dbapi_connection is before
        assert connection.execute(select(func.count()).select_from(Run)).scalar_one() == 1


def test_what_the_child_raises_is_raised_in_the_parent(store: EvidenceStore) -> None:
    def fail() -> None:
        raise PacketBuildError("controls 'a' and 'b' both become the OSCAL control id 'x-a'")

    with pytest.raises(PacketBuildError, match="both become the OSCAL control id"):
        Forked(store.engine, fail).result()


def test_a_child_that_dies_is_reported_with_its_exit_code(store: EvidenceStore) -> None:
    with pytest.raises(RuntimeError, match="exit code 3"):
        Forked(store.engine, lambda: os._exit(3)).result()


def test_an_in_memory_database_runs_the_stage_in_this_process() -> None:
    engine = make_engine("sqlite://")  # one connection holds the whole database: a child could not see it
    try:
        assert Forked(engine, os.getpid).result() == os.getpid()
    finally:
        engine.dispose()


def test_a_stage_started_on_a_job_thread_runs_on_that_thread(store: EvidenceStore) -> None:
    """Job threads share the process with other jobs' threads, whose locks a child would inherit held."""
    seen: list[int] = []
    worker = threading.Thread(target=lambda: seen.append(Forked(store.engine, os.getpid).result()))
    worker.start()
    worker.join()
    assert seen == [os.getpid()]
