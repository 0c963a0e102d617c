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
from reports import forked
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
    job = Forked(store.engine, lambda: os._exit(3))
    for _ in range(2):  # asked again, the same failure
        with pytest.raises(RuntimeError, match="exit code 3"):
            job.result()


@pytest.mark.parametrize("fork", [True, False], ids=["forked", "in-process"])
def test_the_outcome_is_the_same_however_often_it_is_asked_for(
    store: EvidenceStore, monkeypatch: pytest.MonkeyPatch, fork: bool
) -> None:
    """The OSCAL stage waits for the POA&M's child from two places (its risks, then its file)."""
    monkeypatch.setattr(forked, "can_fork", lambda engine: fork)
    job = Forked(store.engine, lambda: ("poam.json", os.getpid()))
    first = job.result()
    assert job.result() == first and first[0] == "poam.json"
    assert (first[1] != os.getpid()) is fork

    def fail() -> None:
        raise PacketBuildError("the POA&M could not be written")

    if fork:  # in process, what the action raises is raised where the job starts
        failing = Forked(store.engine, fail)
        for _ in range(2):
            with pytest.raises(PacketBuildError, match="could not be written"):
                failing.result()


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


def test_a_stage_asked_to_run_in_process_does_even_where_it_could_fork(store: EvidenceStore) -> None:
    """A stage that needs what a fork does not carry (an external blob store's client and threads)."""
    assert Forked(store.engine, os.getpid).result() != os.getpid()  # it could fork here...
    assert Forked(store.engine, os.getpid, in_process=True).result() == os.getpid()


def test_a_stage_asked_to_yield_the_cpu_runs_niced_and_the_parent_does_not(store: EvidenceStore) -> None:
    here = os.nice(0)
    assert Forked(store.engine, lambda: os.nice(0), nice=5).result() == min(here + 5, 19)
    assert os.nice(0) == here
