"""A collection in shards (evidence.shards): the same evidence and findings as one collection, one copy of every
shard however often it is delivered, a run sealed only when every shard is done."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import select

from auditpack.estate.detection import guardduty_administrator_as_aws
from evidence.aws.scope import CollectionScope
from evidence.findings import load_findings
from evidence.models import Evidence, RunShard, RunStatus, ShardState
from evidence.orchestrator import _Job, collect
from evidence.shards import PLAN, collect_sharded, run_shard, seal_when_done, start_sharded
from evidence.store import EvidenceStore
from evidence.verification import verify_store
from tests.evidence.estate import REGIONS, build_estate
from tests.moto_server import fake_aws_env


@pytest.fixture
def org() -> Iterator[CollectionScope]:
    with fake_aws_env(), mock_aws(), guardduty_administrator_as_aws():
        base = boto3.Session(region_name="us-east-1")
        build_estate(base)
        yield CollectionScope(session=base, org=True, regions=REGIONS, max_attempts=2)


def _evidence(store: EvidenceStore, run_id: int) -> Counter[tuple[str, str, str, str, str]]:
    with store.sessions() as session:
        rows = session.execute(
            select(Evidence.account_id, Evidence.region, Evidence.kind, Evidence.resource_id, Evidence.sha256).where(
                Evidence.run_id == run_id
            )
        )
        return Counter(tuple(row) for row in rows)  # type: ignore[misc]


def _verdicts(store: EvidenceStore, run_id: int) -> Counter[tuple[str, str, str, str, str]]:
    return Counter(
        (f.check_id, f.account_id, f.region, f.resource_id, f.status.value) for f in load_findings(store, run_id)
    )


def _shards(store: EvidenceStore, run_id: int) -> dict[str, RunShard]:
    with store.sessions() as session:
        return {row.shard: row for row in session.scalars(select(RunShard).where(RunShard.run_id == run_id))}


def test_a_sharded_collection_equals_one_collection(store: EvidenceStore, org: CollectionScope) -> None:
    whole = collect(store, org, trigger="cli", requested_by="tests")
    sharded = collect_sharded(store, org, trigger="cli", requested_by="tests", shards_at_once=2)

    assert sharded.status == whole.status
    assert sharded.evidence_count == whole.evidence_count
    assert _evidence(store, sharded.id) == _evidence(store, whole.id)
    assert _verdicts(store, sharded.id) == _verdicts(store, whole.id)
    shards = _shards(store, sharded.id)
    accounts = {key.split("/")[0] for key in shards if key != PLAN}
    assert len(accounts) >= 2
    # one shard per account for its global services and one per (account, region), plus the plan
    assert set(shards) == {PLAN} | {f"{a}/{r}" for a in accounts for r in ("global", *REGIONS)}
    assert {row.state for row in shards.values()} == {ShardState.DONE.value}
    assert sum(row.evidence_count for row in shards.values()) == sharded.evidence_count
    assert verify_store(store.engine).intact


def test_a_shard_whose_attempt_died_is_collected_once(
    store: EvidenceStore, org: CollectionScope, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = start_sharded(store, org, trigger="cli", requested_by="tests")
    accounts = run_shard(store, org, run.id, PLAN)
    account_shard = accounts[0]
    planned = _evidence(store, run.id)  # the Organization, as the plan read it
    real_enter = _Job.enter_account

    def dies_after_collecting(self: _Job, *args: object, **kwargs: object) -> object:
        real_enter(self, *args, **kwargs)  # type: ignore[arg-type]
        self.tasks.wait()  # every global collector of the account has recorded its evidence (buffered)
        raise RuntimeError("the worker died")

    monkeypatch.setattr(_Job, "enter_account", dies_after_collecting)
    with pytest.raises(RuntimeError):
        run_shard(store, org, run.id, account_shard)
    assert planned
    assert _evidence(store, run.id) == planned  # the dead attempt left nothing
    monkeypatch.setattr(_Job, "enter_account", real_enter)

    regions = run_shard(store, org, run.id, account_shard)  # the retry
    assert sorted(regions) == sorted(f"{account_shard.split('/')[0]}/{r}" for r in REGIONS)
    assert run_shard(store, org, run.id, account_shard) == []  # delivered again after it was done: nothing
    assert seal_when_done(store, run.id) is None  # its regions are still to collect

    pending = [key for key, row in _shards(store, run.id).items() if row.state != ShardState.DONE.value]
    while pending:
        for key in pending:
            run_shard(store, org, run.id, key)
        pending = [key for key, row in _shards(store, run.id).items() if row.state != ShardState.DONE.value]
    sealed = seal_when_done(store, run.id)
    assert sealed is not None and sealed.status in (RunStatus.COMPLETE.value, RunStatus.PARTIAL.value)
    assert _shards(store, run.id)[account_shard].attempt == 2
    counted = _evidence(store, run.id)
    assert max(counted.values()) == 1, [key for key, n in counted.items() if n > 1]
    assert seal_when_done(store, run.id) is None  # sealed once
    assert verify_store(store.engine).intact


def test_two_deliveries_of_one_shard_at_once_commit_one_copy(store: EvidenceStore, org: CollectionScope) -> None:
    run = start_sharded(store, org, trigger="cli", requested_by="tests")
    account_shard = run_shard(store, org, run.id, PLAN)[0]
    planned: list[list[str]] = []
    threads = [
        threading.Thread(target=lambda: planned.append(run_shard(store, org, run.id, account_shard))) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(len(regions) for regions in planned) == [0, len(REGIONS)]  # one commit planned the regions
    account = account_shard.split("/")[0]
    counted = Counter({k: n for k, n in _evidence(store, run.id).items() if k[0] == account})
    assert counted and max(counted.values()) == 1
