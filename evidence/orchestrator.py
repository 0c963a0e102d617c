"""Runs a collection: resolves the scope into accounts and regions, runs every collector over account x region
in a bounded thread pool, seals the run, then evaluates the checks and stores the findings.

Every failure that survives botocore's retries is recorded as a gap and the run ends ``partial``; the run is
``failed`` only when the job itself cannot proceed (no usable credentials, the Organization cannot be listed),
and ``interrupted`` on Ctrl-C. Nothing is ever silently skipped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from evidence.aws.accounts import (
    CollectionFailed,
    identify_caller,
    not_assumable,
    role_arn,
)
from evidence.aws.calls import CallLimits, CallStats, describe_error
from evidence.aws.partition import partition_for_region
from evidence.aws.regions import HeldGap, RegionLedger, collapse
from evidence.aws.scope import CollectionScope, OutOfScope, ScopeError
from evidence.aws.session import (
    AccountSession,
    assume_role_session,
    base_session,
    check_assumed,
    client_config,
    home_region,
)
from evidence.changes.attribute import LookupSettings, attribute_changes
from evidence.checks.evaluate import evaluate_run
from evidence.checks.thresholds import Thresholds
from evidence.collectors.context import GLOBAL, Cancelled, CollectorContext, RunContext
from evidence.collectors.registry import SCOPE, Collector, Scope, collectors
from evidence.diff.types import CHANGE_EVENTS
from evidence.findings import save_findings
from evidence.models import Run, RunStatus, Trigger
from evidence.owners import OwnerMap
from evidence.recorder import RunRecorder
from evidence.store import EvidenceStore
from evidence.targets import (
    Organization,
    RegionGate,
    account_regions,
    org_accounts,
    probe_region,
    record_account,
    record_region,
)
from evidence.work import CollectionProgress, NoProgress, Tasks

__all__ = ["CollectionFailed", "CollectionProgress", "collect", "record_account", "record_region"]
_log = logging.getLogger("auditpack.collect")


class _Job:
    def __init__(
        self,
        scope: CollectionScope,
        base: boto3.Session,
        run: RunContext,
        tasks: Tasks,
        progress: CollectionProgress,
        config: Config,
        *,
        partition: str,
    ) -> None:
        self.scope = scope
        self.base = base
        self.run = run
        self.tasks = tasks
        self.progress = progress
        self.config = config
        self.home = home_region(scope, base)
        self.partition = partition  # of the home region: the role ARNs assumed are in it
        self.collectors = [c for c in collectors().values() if c.fn is not None]
        self.sessions: dict[str, AccountSession] = {}
        self.out_of_scope = OutOfScope()
        self.organization: Organization | None = None
        # (account, region) whose regional collectors were scheduled -> its opt-in status, until it is settled
        self._collecting: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()
        tasks.on_idle = self._idle

    def _idle(self, account_id: str, region: str) -> None:
        """A region of an account is done: settle its gaps, then drop its clients (global work keeps the home
        region's)."""
        self._settle(account_id, region)
        session = self.sessions.get(account_id)
        if session is not None and region not in (GLOBAL, self.home):
            session.release(region)

    def _settle(self, account_id: str, region: str) -> None:
        """A region whose every call was refused becomes one region-level gap; any other is recorded as collected,
        with the gaps its tasks held."""
        with self._lock:
            opt_in = self._collecting.pop((account_id, region), None)
        ledger = self.run.ledger
        if ledger is None or region == GLOBAL:
            return
        held, answered = ledger.take(account_id, region)
        if self.run.stop.is_set():
            return
        ctx = self._ctx(self.sessions[account_id], region, SCOPE)
        reason = None if opt_in is None else collapse(region, held, answered)
        if reason is not None:
            first = held[0]
            ctx.gap(f"{first.service}.{first.operation}", first.error_code, reason, kind="collection.region")
            return
        for gap in held:
            self.run.add_gap(gap)
        if opt_in is not None:  # None: refused at entry, its one gap already recorded
            record_region(ctx, region, opt_in)

    def caller(self) -> AccountSession:
        """The caller's own account, entered with the base credentials."""
        caller = identify_caller(self.base, region=self.home, config=self.config, stats=self.run.stats)
        return AccountSession(caller.account_id, config=self.config, boto_session=self.base)

    def targets(self, caller: AccountSession) -> list[tuple[str, str | None]]:
        """The accounts to collect, (id, name) each: the Organization's (recorded as scope evidence), the named
        ones, or the caller's own."""
        if self.scope.org:
            self.organization = Organization(caller.account_id)
            ctx = self._ctx(caller, GLOBAL, SCOPE)
            return org_accounts(ctx, self.organization, out_of_scope=self.out_of_scope, progress=self.progress)
        if self.scope.accounts:
            return [(account, None) for account in self.scope.accounts]
        return [(caller.account_id, None)]

    def start(self) -> None:
        caller_session = self.caller()
        for account_id, name in self.targets(caller_session):
            self.tasks.spawn(lambda a=account_id, n=name: self._enter_guarded(caller_session, a, n), account_id, GLOBAL)

    def enter_account(self, caller: AccountSession, account_id: str, name: str | None) -> tuple[tuple[str, str], ...]:
        """A shard's part (evidence.shards): enter the account and schedule its global collectors only. Returns the
        (region, opt-in status) pairs to collect, each the shard of its own."""
        return self._enter_guarded(caller, account_id, name, regional=False)

    def enter_one_region(
        self, caller: AccountSession, account_id: str, region: str, opt_in: str, regions: tuple[str, ...]
    ) -> None:
        """A shard's part: probe one region of the account and schedule its regional collectors; `regions` are
        every region collected in the account (CloudTrail's shadow trail is read in the first)."""
        session = self._open_guarded(caller, account_id, None)
        if session is None:
            return
        self.tasks.hold(account_id, region)
        gate = RegionGate(((region, opt_in),))
        self.tasks.spawn(lambda: self._enter_region(session, region, gate, collected=regions), account_id, region)

    def summary(self) -> dict[str, object]:
        """What the run's statistics say about its scope, besides the calls."""
        out: dict[str, object] = {"out_of_scope": self.out_of_scope.as_dict()}
        if self.organization is not None:
            out["organization"] = self.organization.describe()
        return out

    def _enter_guarded(
        self, caller: AccountSession, account_id: str, name: str | None, *, regional: bool = True
    ) -> tuple[tuple[str, str], ...]:
        """An account whose set-up breaks unexpectedly is a gap for that account (every check reports error)."""
        try:
            return self._enter(caller, account_id, name, regional=regional)
        except Cancelled:
            return ()
        except Exception as exc:
            self._entry_failed(caller, account_id, exc)
            return ()

    def _open_guarded(self, caller: AccountSession, account_id: str, name: str | None) -> AccountSession | None:
        try:
            return self._open(caller, account_id, name)
        except Exception as exc:
            self._entry_failed(caller, account_id, exc)
            return None

    def _entry_failed(self, caller: AccountSession, account_id: str, exc: Exception) -> None:
        _log.exception("entering account %s failed", account_id)
        code, message = describe_error(exc)
        self._account_gap(caller, account_id, "scope.EnterAccount", code, message)

    def _account_gap(self, caller: AccountSession, account_id: str, operation: str, code: str, message: str) -> None:
        """The one gap of an account that could not be entered: it belongs to that account (its root, in the run's
        partition), recorded through the caller's session; the run goes on with the others."""
        ctx = self._ctx(caller, GLOBAL, SCOPE)
        ctx.gap(
            operation,
            code,
            message,
            kind="collection.account",
            account_id=account_id,
            resource_id=ctx.arn("iam", "root", account=account_id),
        )

    def _ctx(
        self, account: AccountSession, region: str, collector: Collector, regions: tuple[str, ...] = ()
    ) -> CollectorContext:
        api = self.home if region == GLOBAL else region
        return CollectorContext(
            self.run, account, region=region, api_region=api, collector=collector, account_regions=regions
        )

    def reenter(self, caller: AccountSession, account_id: str, name: str | None) -> AccountSession:
        """A session in an account a shard entered before (the changes shard: evidence.shards); raises when the
        role cannot be assumed, for the caller to record against what it needed the account for."""
        session = self.sessions.get(account_id)
        if session is None:
            session = caller if account_id == caller.account_id else self._assumed(account_id, name)
            self.sessions[account_id] = session
        return session

    def _assumed(self, account_id: str, name: str | None) -> AccountSession:
        """A session in `account_id` through the role, checked: raises ClientError/BotoCoreError when refused."""
        arn = role_arn(self.scope.role_name, account_id, partition=self.partition)
        session = assume_role_session(
            self.base,
            account_id=account_id,
            role_arn=arn,
            region=self.home,
            config=self.config,
            name=name,
            profile=self.scope.profile,
            on_call=lambda s, r, f: self.run.stats.call(
                "sts.AssumeRole", seconds=s, retries=r, failed=f, account=account_id, region=GLOBAL
            ),
        )
        check_assumed(session)
        return session

    def _assume(self, caller: AccountSession, account_id: str, name: str | None) -> AccountSession | None:
        """A session in `account_id` through the role, or None after recording the account's one gap."""
        try:
            session = self._assumed(account_id, name)
        except (ClientError, BotoCoreError) as exc:
            code, message = describe_error(exc)
            reason = not_assumable(self.scope.role_name, account_id, code, message)
            self._account_gap(caller, account_id, "sts.AssumeRole", code, reason)
            self.progress.note(f"{self.scope.role_name} not assumable in {account_id}: {code}")
            return None
        return session

    def _open(self, caller: AccountSession, account_id: str, name: str | None) -> AccountSession | None:
        """The account's session (the caller's own credentials in its own account), or None after its gap."""
        if account_id == caller.account_id:
            session: AccountSession | None = caller
        else:
            session = self._assume(caller, account_id, name)
        if session is not None:
            self.sessions[account_id] = session
        return session

    def _enter(
        self, caller: AccountSession, account_id: str, name: str | None, *, regional: bool = True
    ) -> tuple[tuple[str, str], ...]:
        """Enter one account, find its regions, schedule its global collectors and (`regional`) a probe of each
        region (runs as a pool task); the regional collectors follow the probes. Returns the regions to collect."""
        session = self._open(caller, account_id, name)
        if session is None:
            return ()
        ctx = self._ctx(session, GLOBAL, SCOPE)
        choice = account_regions(ctx, requested=self.scope.regions, home=self.home, out_of_scope=self.out_of_scope)
        record_account(ctx, session, name=name, not_opted_in=[region for region, _ in choice.not_opted_in])
        regions = tuple(region for region, _ in choice.collect)
        work = [self._task(session, GLOBAL, c, regions) for c in self.collectors if c.scope is Scope.GLOBAL]
        if regional:
            gate = RegionGate(choice.collect)
            for region in regions:
                work.append((lambda r=region: self._enter_region(session, r, gate), account_id, region))
                # a region's probe may end before the account's last probe schedules its collectors: keep it open
                self.tasks.hold(account_id, region)
        self.tasks.spawn_many(work)
        return tuple(choice.collect)

    def _enter_region(
        self, session: AccountSession, region: str, gate: RegionGate, *, collected: tuple[str, ...] = ()
    ) -> None:
        """Probe a region (is it refused as a whole?); the account's last probe schedules every usable region's
        collectors (`collected`: the account's regions, when other shards probe the others)."""
        usable = False
        try:
            usable = probe_region(self._ctx(session, region, SCOPE))
        except Cancelled:
            pass
        finally:
            ready = gate.done(region, usable)
            if ready is not None:
                ready_regions = tuple(r for r, _ in ready)
                regions = collected or ready_regions
                with self._lock:
                    self._collecting.update(((session.account_id, r), status) for r, status in ready)
                regional = [c for c in self.collectors if c.scope is Scope.REGIONAL]
                try:
                    self.tasks.spawn_many([self._task(session, r, c, regions) for r in ready_regions for c in regional])
                finally:
                    for probed in gate.regions:
                        self.tasks.release(session.account_id, probed)

    def _task(
        self, account: AccountSession, region: str, collector: Collector, regions: tuple[str, ...]
    ) -> tuple[Callable[[], None], str, str]:
        ctx = self._ctx(account, region, collector, regions)
        fn = collector.fn
        assert fn is not None
        return (lambda: ctx.guard(fn, ctx)), account.account_id, region


@dataclass(frozen=True, slots=True)
class Setup:
    """What a collection (one process, or one shard of it: evidence.shards) derives from its scope before it
    starts: the base session, the partition of its home region, the client configuration and the call limits."""

    scope: CollectionScope
    base: boto3.Session
    partition: str
    config: Config
    limits: CallLimits

    @classmethod
    def of(cls, scope: CollectionScope, *, concurrency: int) -> Setup:
        """Bad input (concurrency out of range, an unknown profile or home region) raises here, before any write."""
        if not 1 <= concurrency <= 256:
            raise ScopeError(f"concurrency must be between 1 and 256, got {concurrency}")
        base = base_session(scope)
        partition = partition_for_region(home_region(scope, base))
        config = client_config(scope, pool_size=concurrency)
        return cls(scope, base, partition, config, CallLimits(scope.max_calls_per_service))

    def job(
        self,
        *,
        recorder: RunRecorder,
        pool: ThreadPoolExecutor,
        progress: CollectionProgress,
        stats: CallStats,
        stop: threading.Event,
        owner_map: OwnerMap | None,
    ) -> _Job:
        """The job collecting into `recorder` on `pool`; its run context is `job.run`, its tasks `job.tasks`."""
        tasks = Tasks(pool, progress, stop)
        context = RunContext(
            recorder=recorder,
            stats=stats,
            owners=owner_map or OwnerMap(),
            spawn=tasks.spawn,
            stop=stop,
            limits=self.limits,
            ledger=RegionLedger(),
        )
        return _Job(self.scope, self.base, context, tasks, progress, self.config, partition=self.partition)


def look_up_changes(
    store: EvidenceStore,
    run: Run,
    context: RunContext,
    sessions: Mapping[str, AccountSession],
    *,
    home: str,
    settings: LookupSettings,
) -> dict[str, object]:
    """Who changed what changed since the previous run (before sealing, so the events are chained with the run),
    in the accounts of `sessions` (the changes shard's opens each one when first used: evidence.shards).
    Never fails the collection: an unexpected error is one gap of the run, like a collector that broke."""
    if context.stop.is_set() or not sessions:
        return {}
    try:
        return attribute_changes(store, run, context, sessions, home_region=home, settings=settings)
    except Cancelled:
        return {}
    except Exception as exc:
        _log.exception("looking up changes in CloudTrail failed")
        code, message = describe_error(exc)
        account = min(sessions)
        context.add_gap(HeldGap(account, GLOBAL, "cloudtrail", "LookupEvents", code, message, CHANGE_EVENTS, None))
        return {"error": f"{code}: {message}"}


def collect(
    store: EvidenceStore,
    scope: CollectionScope,
    *,
    trigger: Trigger | str,
    requested_by: str,
    concurrency: int = 8,
    progress: CollectionProgress | None = None,
    thresholds: Thresholds | None = None,
    owner_map: OwnerMap | None = None,
    changes: LookupSettings | None = None,
) -> Run:
    """Collect evidence for `scope`, look up in CloudTrail who changed what changed since the previous run
    (`changes`; evidence/changes/attribute.py), seal the run, evaluate the checks and store the findings.

    Returns the sealed run (complete, or partial when any gap was recorded). Raises `CollectionFailed` (the
    run is stored as failed) when the job cannot proceed, and re-raises KeyboardInterrupt after marking the
    run interrupted. Bad input (an unknown profile) raises `ScopeError` before any run is started.
    """
    setup = Setup.of(scope, concurrency=concurrency)
    progress = progress or NoProgress()
    run = store.start_run(trigger=trigger, requested_by=requested_by, scope=scope.describe())
    stats = CallStats()
    stop = threading.Event()
    started = time.monotonic()
    job: _Job | None = None
    lookups: dict[str, object] = {}

    def figures() -> dict[str, object]:
        return {
            **stats.as_dict(),
            **(job.summary() if job is not None else {}),
            **({"change_lookups": lookups} if lookups else {}),
            "duration_seconds": round(time.monotonic() - started, 3),
            "concurrency": concurrency,
            "max_calls_per_service": setup.limits.per_service,
        }

    try:
        with store.recorder(run.id) as recorder:
            pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="auditpack-collect")
            try:
                job = setup.job(
                    recorder=recorder, pool=pool, progress=progress, stats=stats, stop=stop, owner_map=owner_map
                )
                job.start()
                job.tasks.wait()
                if job.tasks.failures:
                    failures = "; ".join(job.tasks.failures[:5])
                    raise CollectionFailed(f"collection tasks failed unexpectedly: {failures}")
                lookups = look_up_changes(
                    store, run, job.run, job.sessions, home=job.home, settings=changes or LookupSettings()
                )
            except BaseException:
                stop.set()
                raise
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
            evidence_count, gap_count = recorder.evidence_added, recorder.gaps_added
    except KeyboardInterrupt:
        store.finish_run(
            run.id,
            status=RunStatus.INTERRUPTED,
            error="interrupted by the user",
            stats=figures(),
        )
        raise
    except CollectionFailed as exc:
        store.finish_run(run.id, status=RunStatus.FAILED, error=exc.message, stats=figures())
        exc.run_id = run.id
        exc.message = f"{exc.message} (run {run.id} is stored as failed)"
        raise
    except Exception as exc:
        store.finish_run(
            run.id,
            status=RunStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}",
            stats=figures(),
        )
        raise CollectionFailed(f"collection failed: {type(exc).__name__}: {exc}", run_id=run.id) from exc
    summary = figures()
    summary.update(evidence=evidence_count, gaps=gap_count)
    sealed = store.finish_run(run.id, stats=summary)
    judged = thresholds or Thresholds()
    save_findings(store, sealed.id, evaluate_run(store, sealed.id, thresholds=judged), thresholds=judged)
    return sealed
