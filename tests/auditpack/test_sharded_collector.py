"""The sharded collection's hand-overs on the workers (auditpack.api_executors.ShardedCollector), with a recording
hand-over in place of procrastinate: shards defer what they planned, the last collection shard the changes shard
when lookups are due, and the last shard of all the seal, a task of its own (no shard seals inline)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import select

from api.executors import CollectRequest
from auditpack import api_executors
from auditpack.api_executors import ShardedCollector
from auditpack.collection import lookups_from_settings
from auditpack.settings import load_settings
from evidence.findings import load_findings
from evidence.models import RunShard, RunStatus, ShardState
from evidence.shards import CHANGES, PLAN, start_sharded
from evidence.store import EvidenceStore
from tests.moto_server import fake_aws_env

REGION = "us-east-1"
OPEN_SSH = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}


@pytest.fixture
def ec2() -> Iterator[object]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION).client("ec2")


class Workers:
    """What the collector hands to the workers, run in the order it was handed over."""

    def __init__(self, store: EvidenceStore, tmp_path: Path) -> None:
        self.settings = load_settings(data_dir=tmp_path, regions=[REGION])
        self.store = store
        self.handed: list[str] = []
        self.collector = ShardedCollector(self.settings, store, self._shard, self._seal)
        self._queue: list[tuple[int, str]] = []

    def _shard(self, run_id: int, shard: str) -> None:
        self.handed.append(shard)
        self._queue.append((run_id, shard))

    def _seal(self, run_id: int) -> None:
        self.handed.append("seal")
        self._queue.append((run_id, "seal"))

    def collect(self) -> int:
        """One run: its plan handed over as the collection job does, then everything handed over, in order."""
        request = CollectRequest(regions=(REGION,))
        run = start_sharded(
            self.store,
            self.collector.scope(request),
            trigger="api",
            requested_by="tests",
            detail={"request": request.to_json()},
            changes=lookups_from_settings(self.settings),
        )
        self.handed = []
        self._queue = [(run.id, PLAN)]
        while self._queue:
            run_id, task = self._queue.pop(0)
            if task == "seal":
                assert self.store.get_run(run_id).status == RunStatus.RUNNING.value  # no shard sealed it
                self.collector.seal(run_id)
            else:
                self.collector.run_shard(run_id, task)
        return run.id


def test_the_last_shard_hands_the_seal_to_its_own_task(store: EvidenceStore, ec2: object, tmp_path: Path) -> None:
    workers = Workers(store, tmp_path)
    first = workers.collect()
    assert workers.handed[-1] == "seal" and workers.handed.count("seal") == 1  # once, after every shard
    assert CHANGES not in workers.handed  # no previous run: nothing to look up
    run = store.get_run(first)
    assert run.status in (RunStatus.COMPLETE.value, RunStatus.PARTIAL.value) and run.sealed
    assert load_findings(store, first)  # the seal task evaluated the checks

    group = ec2.create_security_group(GroupName="web", Description="web")["GroupId"]  # type: ignore[attr-defined]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[OPEN_SSH])  # type: ignore[attr-defined]
    second = workers.collect()
    # the changes shard follows every collection shard, and the seal follows it
    assert workers.handed[-2:] == [CHANGES, "seal"] and workers.handed.count("seal") == 1
    assert store.get_run(second).stats["change_lookups"]["previous_run"] == first
    assert load_findings(store, second)


def test_a_shard_that_breaks_fails_the_run_on_its_last_attempt_only(
    store: EvidenceStore, ec2: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workers = Workers(store, tmp_path)
    request = CollectRequest(regions=(REGION,))
    scope = workers.collector.scope(request)
    run = start_sharded(store, scope, trigger="api", requested_by="tests", detail={"request": request.to_json()})

    def breaks(*args: object, **kwargs: object) -> list[str]:
        raise RuntimeError("a passing fault")

    monkeypatch.setattr(api_executors, "run_shard", breaks)
    with pytest.raises(RuntimeError):  # raised for procrastinate to retry
        workers.collector.run_shard(run.id, PLAN, last_attempt=False)
    assert store.get_run(run.id).status == RunStatus.RUNNING.value
    assert _plan(store, run.id).state != ShardState.FAILED.value

    with pytest.raises(RuntimeError):
        workers.collector.run_shard(run.id, PLAN, last_attempt=True)
    failed = store.get_run(run.id)
    assert failed.status == RunStatus.FAILED.value and "a passing fault" in (failed.error or "")
    assert _plan(store, run.id).state == ShardState.FAILED.value


def test_a_shard_that_broke_is_collected_by_its_retry(
    store: EvidenceStore, ec2: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workers = Workers(store, tmp_path)
    real = api_executors.run_shard
    broke: list[str] = []

    def breaks_once(store: EvidenceStore, scope: object, run_id: int, shard: str, **kwargs: object) -> list[str]:
        if shard not in broke:  # every shard breaks on its first attempt
            broke.append(shard)
            raise RuntimeError("a passing fault")
        return real(store, scope, run_id, shard, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(api_executors, "run_shard", breaks_once)
    monkeypatch.setattr(workers.collector, "run_shard", _retried(workers.collector.run_shard))
    run_id = workers.collect()
    run = store.get_run(run_id)
    assert run.status in (RunStatus.COMPLETE.value, RunStatus.PARTIAL.value)
    assert len(broke) > 2 and workers.handed.count("seal") == 1


def _retried(run_shard: Callable[..., None]) -> Callable[[int, str], None]:
    """procrastinate's retry, in-process: the shard task again after an unexpected error (never its last)."""

    def task(run_id: int, shard: str) -> None:
        try:
            run_shard(run_id, shard, last_attempt=False)
        except RuntimeError:
            run_shard(run_id, shard, last_attempt=True)

    return task


def _plan(store: EvidenceStore, run_id: int) -> RunShard:
    with store.sessions() as session:
        return session.scalars(select(RunShard).where(RunShard.run_id == run_id, RunShard.shard == PLAN)).one()
