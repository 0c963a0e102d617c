"""A collection in shards (evidence.shards): the same evidence and findings as one collection, one copy of every
shard however often it is delivered, a run sealed only when every shard is done."""

from __future__ import annotations

import shutil
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from sqlalchemy import select

from auditpack.estate.detection import guardduty_administrator_as_aws
from evidence import shards
from evidence.aws.scope import CollectionScope
from evidence.changes.attribute import LookupSettings
from evidence.db import make_engine
from evidence.diff.types import CHANGE_EVENTS
from evidence.findings import load_findings
from evidence.models import Evidence, Run, RunShard, RunStatus, ShardState
from evidence.orchestrator import _Job, collect
from evidence.shards import CHANGES, PLAN, collect_sharded, plan_changes, run_shard, seal_when_done, start_sharded
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
    accounts = {key.split("/")[0] for key in shards if key not in (PLAN, CHANGES)}
    assert len(accounts) >= 2
    # one shard per account for its global services and one per (account, region), plus the plan and the changes
    # since the previous run (the one-process run)
    assert set(shards) == {PLAN, CHANGES} | {f"{a}/{r}" for a in accounts for r in ("global", *REGIONS)}
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


REGION = "us-east-1"
OPEN_SSH = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}


@pytest.fixture
def account() -> Iterator[tuple[CollectionScope, Callable[[], str]]]:
    """One account with a security group, and how to change it (returns its id) after a first run."""
    with fake_aws_env(), mock_aws():
        base = boto3.Session(region_name=REGION)
        ec2 = base.client("ec2")
        group = ec2.create_security_group(GroupName="web", Description="web")["GroupId"]

        def change() -> str:
            ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[OPEN_SSH])
            return group

        yield CollectionScope(session=base, regions=(REGION,), max_attempts=1), change


@pytest.fixture
def other_store(sqlite_template: Path, tmp_path: Path) -> Iterator[EvidenceStore]:
    """A second store, for the one-process run compared with a sharded one: each needs its own previous run."""
    path = tmp_path / "unsharded.db"
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield EvidenceStore(engine)
    engine.dispose()


def _change_gaps(store: EvidenceStore, run_id: int) -> Counter[tuple[str | None, ...]]:
    return Counter(
        (g.account_id, g.region, g.resource_id, g.operation, g.error_code)
        for g in store.gaps(run_id)
        if g.kind == CHANGE_EVENTS
    )


_COUNTS = ("enabled", "changed_resources", "limit", "not_looked_up", "looked_up", "with_events", "failed")


def test_a_sharded_run_looks_up_changes_like_one_collection(
    store: EvidenceStore, other_store: EvidenceStore, account: tuple[CollectionScope, Callable[[], str]]
) -> None:
    scope, change = account
    lookups = LookupSettings(limit=3)
    before_whole = collect(other_store, scope, trigger="cli", requested_by="tests", changes=lookups)
    before = collect_sharded(store, scope, trigger="cli", requested_by="tests", changes=lookups)
    assert CHANGES not in _shards(store, before.id)  # no previous run: nothing to look up, sealed directly
    assert before.stats["change_lookups"] == {"previous_run": None, "enabled": True}
    assert before.stats["change_lookups"] == before_whole.stats["change_lookups"]
    group = change()

    whole = collect(other_store, scope, trigger="cli", requested_by="tests", changes=lookups)
    sharded = collect_sharded(store, scope, trigger="cli", requested_by="tests", changes=lookups, shards_at_once=2)

    # moto has no LookupEvents: every resource looked up is a gap of the run, the changed group first
    assert _change_gaps(store, sharded.id) == _change_gaps(other_store, whole.id)
    assert any(key[2] and key[2].endswith(group) for key in _change_gaps(store, sharded.id))
    assert _evidence(store, sharded.id) == _evidence(other_store, whole.id)
    figures, expected = sharded.stats["change_lookups"], whole.stats["change_lookups"]
    assert figures["previous_run"] == before.id and figures["looked_up"] > 0
    assert {k: figures[k] for k in _COUNTS} == {k: expected[k] for k in _COUNTS}
    changes = _shards(store, sharded.id)[CHANGES]
    assert changes.state == ShardState.DONE.value
    assert changes.gap_count == sum(_change_gaps(store, sharded.id).values())
    assert sharded.status == whole.status
    assert verify_store(store.engine).intact


def _collected_after_a_change(store: EvidenceStore, scope: CollectionScope, change: Callable[[], str]) -> Run:
    """A second sharded run, after a first and a change in between, with every collection shard done (its changes
    shard not yet added)."""
    collect_sharded(store, scope, trigger="cli", requested_by="tests")
    change()
    run = start_sharded(store, scope, trigger="cli", requested_by="tests")
    pending = [PLAN]
    while pending:
        pending = [child for key in pending for child in run_shard(store, scope, run.id, key)]
    return run


def test_a_retried_changes_shard_writes_its_lookups_once(
    store: EvidenceStore, account: tuple[CollectionScope, Callable[[], str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    scope, change = account
    run = _collected_after_a_change(store, scope, change)
    assert seal_when_done(store, run.id) is None  # its changes are still to look up
    assert plan_changes(store, run.id) == [CHANGES]
    assert plan_changes(store, run.id) == []  # added once
    real = shards.look_up_changes

    def dies_after_looking_up(*args: Any, **kwargs: Any) -> dict[str, object]:
        real(*args, **kwargs)  # the lookups' gaps are buffered
        raise SystemExit("the worker died")

    monkeypatch.setattr(shards, "look_up_changes", dies_after_looking_up)
    with pytest.raises(SystemExit):
        run_shard(store, scope, run.id, CHANGES)
    assert not _change_gaps(store, run.id)  # the dead attempt left nothing
    monkeypatch.setattr(shards, "look_up_changes", real)

    assert run_shard(store, scope, run.id, CHANGES) == []
    written = _change_gaps(store, run.id)
    assert written and max(written.values()) == 1
    assert run_shard(store, scope, run.id, CHANGES) == []  # delivered again after it was done: nothing
    sealed = seal_when_done(store, run.id)
    assert sealed is not None
    assert _change_gaps(store, run.id) == written
    assert _shards(store, run.id)[CHANGES].attempt == 2
    assert sealed.stats["change_lookups"]["failed"] == sum(written.values())
    assert verify_store(store.engine).intact


def test_two_shards_ending_at_once_add_one_changes_shard(
    store: EvidenceStore, account: tuple[CollectionScope, Callable[[], str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    scope, change = account
    run = _collected_after_a_change(store, scope, change)
    # both callers see every collection shard done and the lookups due before either adds the shard
    both_checked = threading.Barrier(2, timeout=10)
    real = shards._changes_due

    def checked(*args: Any) -> tuple[bool, dict[str, Any]]:
        due = real(*args)
        both_checked.wait()
        return due

    monkeypatch.setattr(shards, "_changes_due", checked)
    added: list[list[str]] = []
    threads = [threading.Thread(target=lambda: added.append(plan_changes(store, run.id))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(added) == [[], [CHANGES]]


def test_without_lookups_a_sharded_run_is_sealed_with_its_collection(
    store: EvidenceStore, account: tuple[CollectionScope, Callable[[], str]]
) -> None:
    scope, change = account
    off = LookupSettings(enabled=False)
    first = collect_sharded(store, scope, trigger="cli", requested_by="tests", changes=off)
    change()
    run = collect_sharded(store, scope, trigger="cli", requested_by="tests", changes=off)
    assert CHANGES not in _shards(store, run.id)
    assert run.stats["change_lookups"] == {"previous_run": first.id, "enabled": False}
    assert not _change_gaps(store, run.id)


def test_an_account_the_changes_shard_cannot_enter_again_is_a_gap_per_resource(
    store: EvidenceStore, account: tuple[CollectionScope, Callable[[], str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    scope, change = account
    collect_sharded(store, scope, trigger="cli", requested_by="tests")
    group = change()

    def refused(self: _Job, caller: object, account_id: str, name: str | None) -> object:
        error = {"Error": {"Code": "AccessDenied", "Message": "role no longer assumable"}}
        raise ClientError(error, "AssumeRole")  # type: ignore[arg-type]

    monkeypatch.setattr(_Job, "reenter", refused)
    run = collect_sharded(store, scope, trigger="cli", requested_by="tests", changes=LookupSettings(limit=3))

    gaps = _change_gaps(store, run.id)
    assert gaps and {key[4] for key in gaps} == {"AccessDenied"}
    assert any(key[2] and key[2].endswith(group) for key in gaps)
    assert run.stats["change_lookups"]["failed"] == run.stats["change_lookups"]["looked_up"] == sum(gaps.values())
    assert run.status == RunStatus.PARTIAL.value and run.sealed  # the collection itself stands
