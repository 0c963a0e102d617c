"""A collection in shards: one task plans the accounts ("plan"), one per account enters it and collects its global
services ("<account>/global") and plans its regions, one per (account, region) collects that region, then, once
every one of those is done, one looks up in CloudTrail who changed what changed since the previous run ("changes",
evidence.changes.attribute), and the run is sealed once every shard has ended. Each shard is a function of (run,
shard key) that any process can run: in sequence or on threads in-process (SQLite), or as procrastinate tasks on
many workers (PostgreSQL).

Idempotence: a shard buffers its evidence and gaps and writes them in the one transaction that marks its
`run_shards` row done and adds the shards it planned. A shard whose worker died wrote nothing, so its retry
collects it whole; a second delivery of a finished shard does nothing; two deliveries racing end with one
commit (the row is locked and checked in that transaction). The run's digest is computed at seal time over the
rows stored, so the hash chain covers exactly one copy of every shard.

Differences from the one-process collection (evidence.orchestrator.collect): each shard identifies the caller and
assumes the account's role itself (two calls per shard), a region shard probes only its own region (so its
CloudTrail collector is told every region planned for the account, usable or not), and the changes shard assumes
the role again in each account that has changes to look up (only those). The lookup settings are the run's, stored
with its plan, so every process decides alike whether the run needs a changes shard; without lookups (turned off,
or no previous run) the run is sealed as soon as its collection shards are done.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.errors import ConflictError, NotFoundError
from evidence.aws.accounts import CollectionFailed
from evidence.aws.calls import CallStats
from evidence.aws.partition import partition_for_region
from evidence.aws.scope import CollectionScope
from evidence.aws.session import AccountSession, base_session, home_region
from evidence.changes.attribute import LookupSettings
from evidence.checks.evaluate import evaluate_run
from evidence.checks.thresholds import Thresholds
from evidence.collectors.context import GLOBAL
from evidence.diff.engine import previous_run
from evidence.findings import save_findings
from evidence.models import Run, RunShard, RunStatus, ShardState, Trigger
from evidence.orchestrator import Setup, _Job, look_up_changes
from evidence.owners import OwnerMap
from evidence.store import EvidenceStore
from evidence.work import CollectionProgress, NoProgress

_log = logging.getLogger("auditpack.collect")

PLAN = "plan"
CHANGES = "changes"
_SUMMED = ("api_calls", "api_errors", "http_retries")


def shard_key(account_id: str, region: str) -> str:
    """The key of a shard: `<account>/<region>`, or `<account>/global` for the account's global services."""
    return f"{account_id}/{region}"


def account_of(shard: str) -> str | None:
    """The account a shard collects (what the per-account lock is keyed by); None for the plan and the changes
    shard (it reads CloudTrail in many accounts and collects none)."""
    return None if shard in (PLAN, CHANGES) else shard.split("/", 1)[0]


class _AlreadyDone(Exception):
    """Another delivery of the shard committed first: this one's rows are rolled back."""


def start_sharded(
    store: EvidenceStore,
    scope: CollectionScope,
    *,
    trigger: Trigger | str,
    requested_by: str,
    detail: dict[str, Any] | None = None,
    changes: LookupSettings | None = None,
) -> Run:
    """Start a run whose one shard is the plan (`detail`: what every shard's process needs to rebuild the scope;
    `changes`: the run's change lookups, by default on). Bad input (an unknown profile) raises before any run
    exists."""
    base = base_session(scope)
    partition_for_region(home_region(scope, base))  # an unknown home region is bad input
    run = store.start_run(trigger=trigger, requested_by=requested_by, scope=scope.describe())
    planned = {**(detail or {}), "changes": asdict(changes or LookupSettings())}
    with store.sessions.begin() as session:
        session.add(RunShard(run_id=run.id, shard=PLAN, detail=planned, stats={}))
    return run


def plan_detail(store: EvidenceStore, run_id: int) -> dict[str, Any]:
    """The detail the run was started with (`start_sharded`)."""
    with store.sessions() as session:
        return dict(_row(session, run_id, PLAN, lock=False).detail or {})


def queued_shards(store: EvidenceStore, run_id: int) -> list[str]:
    """Shards planned but never started (their hand-over to a worker may have been lost)."""
    with store.sessions() as session:
        query = select(RunShard.shard).where(RunShard.run_id == run_id, RunShard.state == ShardState.QUEUED.value)
        return list(session.scalars(query))


def run_shard(
    store: EvidenceStore,
    scope: CollectionScope,
    run_id: int,
    shard: str,
    *,
    concurrency: int = 8,
    progress: CollectionProgress | None = None,
    owner_map: OwnerMap | None = None,
) -> list[str]:
    """Collect one shard of a running run and record it done; returns the shards it planned (none when it was
    already done). Raises `CollectionFailed` when the shard cannot proceed (the Organization cannot be listed), and
    `ConflictError` when the run has ended."""
    setup = Setup.of(scope, concurrency=concurrency)
    detail = _claim(store, run_id, shard)
    if detail is None:
        return []
    progress = progress or NoProgress()
    recorder = store.recorder(run_id, batch_size=sys.maxsize)  # nothing is written before the shard is done
    stats = CallStats()
    stop = threading.Event()
    planned: dict[str, dict[str, Any]] = {}
    lookups: dict[str, object] = {}
    entered = False
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="auditpack-shard")
    try:
        job = setup.job(recorder=recorder, pool=pool, progress=progress, stats=stats, stop=stop, owner_map=owner_map)
        caller = job.caller()
        if shard == CHANGES:
            lookups = look_up_changes(
                store,
                store.get_run(run_id),
                job.run,
                _Entered(store, run_id, job, caller),
                home=job.home,
                settings=_lookup_settings(store, run_id) or LookupSettings(enabled=False),
            )
        elif shard == PLAN:
            for account_id, name in job.targets(caller):
                planned[shard_key(account_id, GLOBAL)] = {"name": name}
        else:
            account_id, region = shard.split("/", 1)
            if region == GLOBAL:
                chosen = job.enter_account(caller, account_id, detail.get("name"))
                entered = account_id in job.sessions  # its changes are looked up (the run could read it)
                regions = [r for r, _ in chosen]
                for r, status in chosen:
                    planned[shard_key(account_id, r)] = {"opt_in": status, "regions": regions}
            else:
                job.enter_one_region(caller, account_id, region, detail["opt_in"], tuple(detail["regions"]))
        job.tasks.wait()
        if job.tasks.failures:
            raise CollectionFailed(f"collection tasks failed unexpectedly: {'; '.join(job.tasks.failures[:5])}")
    except BaseException:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        recorder.abandon()
        raise
    pool.shutdown(wait=True)
    figures = {**stats.as_dict(), **job.summary()}
    figures.pop("scopes", None)  # per (account, region) detail stays in the shard's counts
    if shard == CHANGES and lookups:
        figures["change_lookups"] = lookups
    elif shard != PLAN and shard.endswith(f"/{GLOBAL}"):
        figures["entered"] = entered

    def done(session: Session) -> None:
        row = _row(session, run_id, shard, lock=True)
        if row.state == ShardState.DONE.value:
            raise _AlreadyDone
        row.state = ShardState.DONE.value
        row.evidence_count, row.gap_count = recorder.evidence_added, recorder.gaps_added
        row.stats, row.error, row.finished_at = figures, None, utcnow()
        session.add_all(RunShard(run_id=run_id, shard=key, detail=d, stats={}) for key, d in planned.items())

    try:
        recorder.close(also=done)
    except _AlreadyDone:
        _log.info("shard %s of run %s was finished by another delivery", shard, run_id)
        return []
    return list(planned)


class _Entered(Mapping[str, AccountSession]):
    """The accounts the run entered (their global shard did), each entered again on first use: the changes shard
    assumes the role only in the accounts that have changes to look up."""

    def __init__(self, store: EvidenceStore, run_id: int, job: _Job, caller: AccountSession) -> None:
        with store.sessions() as session:
            rows = session.scalars(select(RunShard).where(RunShard.run_id == run_id))
            self._names = {
                str(account_of(row.shard)): (row.detail or {}).get("name")
                for row in rows
                if row.shard.endswith(f"/{GLOBAL}") and (row.stats or {}).get("entered")
            }
        self._job, self._caller = job, caller
        self._lock = threading.Lock()

    def __getitem__(self, account_id: str) -> AccountSession:
        if account_id not in self._names:
            raise KeyError(account_id)
        with self._lock:  # one role assumption per account, whichever (account, region) asks first
            return self._job.reenter(self._caller, account_id, self._names[account_id])

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._names))

    def __len__(self) -> int:
        return len(self._names)


def _lookup_settings(store: EvidenceStore, run_id: int) -> LookupSettings | None:
    """The change lookups the run was started with; None for a run started without (before they were sharded)."""
    stored = plan_detail(store, run_id).get("changes")
    return LookupSettings(**stored) if isinstance(stored, dict) else None


def _changes_due(store: EvidenceStore, run: Run) -> tuple[bool, dict[str, Any]]:
    """Whether the run looks changes up (in a changes shard), else what its statistics say instead (as the
    one-process collection's do: the previous run, if any, and whether lookups are on)."""
    settings = _lookup_settings(store, run.id)
    previous = previous_run(store, run)
    enabled = settings is not None and settings.enabled
    return enabled and previous is not None, {"previous_run": previous.id if previous else None, "enabled": enabled}


def plan_changes(store: EvidenceStore, run_id: int) -> list[str]:
    """Once every collection shard is done, add the run's changes shard when its lookups are due: returns it to the
    one caller that added it (two shards finishing at once add one), else nothing."""
    with store.sessions() as session:
        total, pending, has_changes = _progress(session, run_id)
        run = session.get(Run, run_id)
    if run is None or run.status != RunStatus.RUNNING.value:
        return []
    if not total or pending or has_changes:
        return []
    if not _changes_due(store, run)[0]:
        return []
    try:
        with store.sessions.begin() as session:
            session.add(RunShard(run_id=run_id, shard=CHANGES, detail={}, stats={}))
    except IntegrityError:  # unique (run_id, shard): another finishing shard added it first
        return []
    return [CHANGES]


def _row(session: Session, run_id: int, shard: str, *, lock: bool) -> RunShard:
    query = select(RunShard).where(RunShard.run_id == run_id, RunShard.shard == shard)
    row = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if row is None:
        raise NotFoundError(f"run {run_id} has no shard {shard}")
    return row


def _claim(store: EvidenceStore, run_id: int, shard: str) -> dict[str, Any] | None:
    """Mark the shard running (one more attempt) and return its detail; None when it is already done."""
    with store.sessions.begin() as session:
        run = session.get(Run, run_id)
        if run is None:
            raise NotFoundError(f"run {run_id} does not exist")
        if run.status != RunStatus.RUNNING.value:
            raise ConflictError(f"run {run_id} already ended ({run.status}): its shard {shard} is not collected")
        row = _row(session, run_id, shard, lock=True)
        if row.state == ShardState.DONE.value:
            return None
        row.state, row.started_at = ShardState.RUNNING.value, utcnow()
        row.attempt += 1
        return dict(row.detail or {})


def all_done(store: EvidenceStore, run_id: int) -> bool:
    """Every shard planned so far is done: the run is ready to seal (`seal_when_done` says whether it is)."""
    with store.sessions() as session:
        total, pending, _ = _progress(session, run_id)
    return bool(total) and not pending


def _progress(session: Session, run_id: int) -> tuple[int, int, bool]:
    """(shards, shards not done, whether the changes shard exists) in one aggregate: every shard asks this when it
    ends, so loading the run's rows here made a run of n shards read n * n rows (a tenth of a worker's CPU at
    600 shards)."""
    query = select(
        func.count(),
        func.count().filter(RunShard.state != ShardState.DONE.value),
        func.count().filter(RunShard.shard == CHANGES),
    ).where(RunShard.run_id == run_id)
    total, pending, changes = session.execute(query).one()
    return int(total), int(pending), bool(changes)


def fail_shard(store: EvidenceStore, run_id: int, shard: str, error: str) -> None:
    """Record why a shard gave up (its last attempt); the run then ends failed."""
    with store.sessions.begin() as session:
        row = _row(session, run_id, shard, lock=True)
        if row.state != ShardState.DONE.value:
            row.state, row.error, row.finished_at = ShardState.FAILED.value, error, utcnow()


def seal_when_done(store: EvidenceStore, run_id: int, *, thresholds: Thresholds | None = None) -> Run | None:
    """Seal the run and store its findings once every shard is done, its changes shard included when its lookups
    are due (`plan_changes` adds it); None while shards remain (or when another process sealed it first). The seal
    task the last shard defers calls this (the in-process path directly); so may anyone, any number of times."""
    with store.sessions() as session:
        total, pending, _ = _progress(session, run_id)
        if not total or pending:
            return None
        rows = list(session.scalars(select(RunShard).where(RunShard.run_id == run_id)))
        run = session.get(Run, run_id)
    if run is None or not rows or any(row.state != ShardState.DONE.value for row in rows):
        return None
    stats = merged_stats(rows)
    if not any(row.shard == CHANGES for row in rows):
        due, lookups = _changes_due(store, run)
        if due:
            return None  # the changes shard is still to add (plan_changes) and run
        stats["change_lookups"] = lookups
    try:
        sealed = store.finish_run(run_id, stats=stats)
    except ConflictError:  # sealed (or interrupted) by another process
        return None
    judged = thresholds or Thresholds()
    save_findings(store, sealed.id, evaluate_run(store, sealed.id, thresholds=judged), thresholds=judged)
    return sealed


def merged_stats(rows: Iterable[RunShard]) -> dict[str, Any]:
    """The run's statistics from its shards': calls summed per operation, scope notes merged."""
    rows = list(rows)
    out: dict[str, Any] = {key: 0 for key in _SUMMED}
    operations: dict[str, dict[str, float]] = {}
    out_of_scope: dict[str, list[Any]] = {"regions": [], "accounts": []}
    for row in rows:
        stats = row.stats or {}
        for key in _SUMMED:
            out[key] += int(stats.get(key, 0))
        for name, figures in (stats.get("operations") or {}).items():
            total = operations.setdefault(name, {"calls": 0, "errors": 0, "retries": 0, "seconds": 0.0})
            for field, value in figures.items():
                total[field] = round(total.get(field, 0) + value, 3)
        for part, entries in (stats.get("out_of_scope") or {}).items():
            out_of_scope.setdefault(part, []).extend(e for e in entries if e not in out_of_scope[part])
        for key in ("organization", "change_lookups"):
            if key in stats:
                out[key] = stats[key]
    out.update(
        operations=dict(sorted(operations.items())),
        out_of_scope=out_of_scope,
        sharded={"shards": len(rows), "attempts": sum(row.attempt for row in rows)},
        evidence=sum(row.evidence_count for row in rows),
        gaps=sum(row.gap_count for row in rows),
    )
    return out


def collect_sharded(
    store: EvidenceStore,
    scope: CollectionScope,
    *,
    trigger: Trigger | str,
    requested_by: str,
    concurrency: int = 8,
    shards_at_once: int = 1,
    progress: CollectionProgress | None = None,
    thresholds: Thresholds | None = None,
    owner_map: OwnerMap | None = None,
    changes: LookupSettings | None = None,
) -> Run:
    """The in-process path: the same shard functions the workers run, `shards_at_once` at a time, then the
    changes shard (when its lookups are due), then the seal.
    Ends like `collect`: the sealed run, `CollectionFailed` (run stored failed), or KeyboardInterrupt (run
    interrupted)."""
    run = start_sharded(store, scope, trigger=trigger, requested_by=requested_by, changes=changes)
    running: dict[Future[list[str]], str] = {}
    pending = [PLAN]
    pool = ThreadPoolExecutor(max_workers=max(1, shards_at_once), thread_name_prefix="auditpack-shards")
    shard = PLAN
    try:
        while pending or running:
            while pending and len(running) < max(1, shards_at_once):
                key = pending.pop(0)
                running[
                    pool.submit(
                        run_shard,
                        store,
                        scope,
                        run.id,
                        key,
                        concurrency=concurrency,
                        progress=progress,
                        owner_map=owner_map,
                    )
                ] = key
            finished, _ = wait(list(running), timeout=0.5, return_when=FIRST_COMPLETED)
            for future in finished:
                shard = running.pop(future)
                pending.extend(future.result())
            if not pending and not running:
                pending.extend(plan_changes(store, run.id))
    except KeyboardInterrupt:
        store.finish_run(run.id, status=RunStatus.INTERRUPTED, error="interrupted by the user")
        raise
    except Exception as exc:
        message = exc.message if isinstance(exc, CollectionFailed) else f"{type(exc).__name__}: {exc}"
        fail_shard(store, run.id, shard, message)
        store.finish_run(run.id, status=RunStatus.FAILED, error=message)
        raise CollectionFailed(f"{message} (run {run.id} is stored as failed)", run_id=run.id) from exc
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    sealed = seal_when_done(store, run.id, thresholds=thresholds)
    if sealed is None:
        raise ConflictError(f"run {run.id} ended before its shards were sealed")
    return sealed
