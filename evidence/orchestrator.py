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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from evidence.aws.accounts import CollectionFailed, account_state, choose_regions, identify_caller, role_arn
from evidence.aws.calls import CallStats, describe_error
from evidence.aws.scope import CollectionScope, ScopeError
from evidence.aws.session import (
    AccountSession,
    assume_role_session,
    base_session,
    check_assumed,
    client_config,
    home_region,
)
from evidence.checks.evaluate import evaluate_run
from evidence.checks.thresholds import Thresholds
from evidence.collectors.context import GLOBAL, Cancelled, CollectorContext, RunContext, setting_id
from evidence.collectors.registry import SCOPE, Collector, Scope, collectors
from evidence.findings import save_findings
from evidence.models import Run, RunStatus, Trigger
from evidence.owners import OwnerMap
from evidence.store import EvidenceStore
from evidence.work import CollectionProgress, NoProgress, Tasks

__all__ = ["CollectionFailed", "CollectionProgress", "collect"]
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
    ) -> None:
        self.scope = scope
        self.base = base
        self.run = run
        self.tasks = tasks
        self.progress = progress
        self.config = config
        self.home = home_region(scope, base)
        self.collectors = [c for c in collectors().values() if c.fn is not None]
        self.sessions: dict[str, AccountSession] = {}
        tasks.on_idle = self._release

    def _release(self, account_id: str, region: str) -> None:
        """A region of an account is done: drop its clients (global work keeps the home region's)."""
        session = self.sessions.get(account_id)
        if session is not None and region not in (GLOBAL, self.home):
            session.release(region)

    def start(self) -> None:
        caller = identify_caller(self.base, region=self.home, config=self.config, stats=self.run.stats)
        caller_session = AccountSession(caller.account_id, config=self.config, boto_session=self.base)
        ctx = self._ctx(caller_session, GLOBAL, SCOPE)
        targets: list[tuple[str, str | None]]
        if self.scope.org:
            targets = self._org_accounts(ctx)
        elif self.scope.accounts:
            targets = [(account, None) for account in self.scope.accounts]
        else:
            targets = [(caller.account_id, None)]
        for account_id, name in targets:
            self.tasks.spawn(lambda a=account_id, n=name: self._enter_guarded(caller_session, a, n), account_id, GLOBAL)

    def _enter_guarded(self, caller: AccountSession, account_id: str, name: str | None) -> None:
        """An account whose set-up breaks unexpectedly is a gap for that account (every check reports error)."""
        try:
            self._enter(caller, account_id, name)
        except Cancelled:
            return
        except Exception as exc:
            _log.exception("entering account %s failed", account_id)
            code, message = describe_error(exc)
            ctx = self._ctx(caller, GLOBAL, SCOPE)
            ctx.gap(
                "scope.EnterAccount",
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

    def _org_accounts(self, ctx: CollectorContext) -> list[tuple[str, str | None]]:
        accounts = ctx.paginate("organizations.ListAccounts", kind="organizations.account", result_key="Accounts")
        if accounts is None:
            code, message = ctx.last_error or ("UnknownError", "")
            raise CollectionFailed(
                f"cannot list the accounts of the Organization (organizations:ListAccounts: {code}: {message})",
                hint="run --org from the management account or a delegated administrator",
            )
        for account in accounts:
            ctx.record(
                kind="organizations.account",
                resource_type="account",
                resource_id=account.get("Arn") or account["Id"],
                payload={k: v for k, v in account.items() if k != "Email"},  # the contact address is personal data
                tags={},
            )
        ctx.listing(
            kind="organizations.account", call="organizations.ListAccounts", resource_ids=[a["Id"] for a in accounts]
        )
        active = [(a["Id"], a.get("Name")) for a in accounts if account_state(a) == "ACTIVE"]
        skipped = len(accounts) - len(active)
        if skipped:
            self.progress.note(f"{skipped} account(s) of the Organization are not ACTIVE and were not collected")
        return active

    def _enter(self, caller: AccountSession, account_id: str, name: str | None) -> None:
        """Enter one account, find its regions and schedule its collectors (runs as a pool task)."""
        if account_id == caller.account_id:
            session = caller
        else:
            arn = role_arn(self.scope, account_id)
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
            try:
                check_assumed(session)
            except (ClientError, BotoCoreError) as exc:
                code, message = describe_error(exc)
                ctx = self._ctx(caller, GLOBAL, SCOPE)
                ctx.gap(
                    "sts.AssumeRole",
                    code,
                    f"cannot assume {arn}: {message}",
                    kind="collection.account",
                    account_id=account_id,  # the gap belongs to the account that could not be entered
                    resource_id=ctx.arn("iam", "root", account=account_id),  # in the partition the run is in
                )
                self.progress.note(f"account {account_id}: cannot assume {arn} ({code})")
                return
        self.sessions[account_id] = session
        ctx = self._ctx(session, GLOBAL, SCOPE)
        record_account(ctx, session, name=name)
        regions = self._regions(ctx)
        work = []
        for collector in self.collectors:
            for region in (GLOBAL,) if collector.scope is Scope.GLOBAL else regions:
                work.append(self._task(session, region, collector, regions))
        self.tasks.spawn_many(work)

    def _regions(self, ctx: CollectorContext) -> tuple[str, ...]:
        # With explicit regions a failed region list only loses the opt-in check (each region's own calls show
        # whether it works); without them the account's regions are unknown, which regional checks report.
        kind = "collection.region_list" if self.scope.regions else "collection.region"
        answer = ctx.call("ec2.DescribeRegions", kind=kind, AllRegions=True)
        described = answer.get("Regions", []) if isinstance(answer, dict) else None
        chosen, refused = choose_regions(self.scope.regions, described, self.home)
        for region, reason in refused:
            ctx.gap(
                "ec2.DescribeRegions",
                "RegionNotEnabled",
                f"{region}: {reason}",
                kind="collection.region",
                region=region,
            )
            self.progress.note(f"account {ctx.account_id}: {region} skipped: {reason}")
        for region, opt_in in chosen:
            record_region(ctx, region, opt_in)
        return tuple(region for region, _ in chosen)

    def _task(
        self, account: AccountSession, region: str, collector: Collector, regions: tuple[str, ...]
    ) -> tuple[Callable[[], None], str, str]:
        ctx = self._ctx(account, region, collector, regions)
        fn = collector.fn
        assert fn is not None
        return (lambda: ctx.guard(fn, ctx)), account.account_id, region


def record_account(ctx: CollectorContext, session: AccountSession, *, name: str | None = None) -> None:
    """Evidence that an account was entered (and how): the accounts checks report on."""
    ctx.record(
        kind="collection.account",
        resource_type="account",
        resource_id=ctx.arn("iam", "root", region="", account=session.account_id),
        payload={
            "AccountId": session.account_id,
            "Partition": ctx.partition,  # of the home region: checks build the account's ARNs in it
            "Name": name or session.name,
            "Via": session.via,
            "RoleArn": session.role_arn,
        },
        tags={},
    )


def record_region(ctx: CollectorContext, region: str, opt_in: str) -> None:
    """Evidence that a region of an account was collected: the places regional checks report on."""
    ctx.record(
        kind="collection.region",
        resource_type="region",
        resource_id=setting_id(ctx.account_id, region, "region"),
        payload={"RegionName": region, "OptInStatus": opt_in},
        region=region,
        tags={},
    )


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
) -> Run:
    """Collect evidence for `scope`, seal the run, evaluate the checks and store the findings.

    Returns the sealed run (complete, or partial when any gap was recorded). Raises `CollectionFailed` (the
    run is stored as failed) when the job cannot proceed, and re-raises KeyboardInterrupt after marking the
    run interrupted. Bad input (an unknown profile) raises `ScopeError` before any run is started.
    """
    if not 1 <= concurrency <= 256:
        raise ScopeError(f"concurrency must be between 1 and 256, got {concurrency}")
    base = base_session(scope)
    progress = progress or NoProgress()
    config = client_config(scope, pool_size=concurrency)
    run = store.start_run(trigger=trigger, requested_by=requested_by, scope=scope.describe())
    stats = CallStats()
    stop = threading.Event()
    started = time.monotonic()
    try:
        with store.recorder(run.id) as recorder:
            pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="auditpack-collect")
            try:
                tasks = Tasks(pool, progress, stop)
                context = RunContext(
                    recorder=recorder, stats=stats, owners=owner_map or OwnerMap(), spawn=tasks.spawn, stop=stop
                )
                _Job(scope, base, context, tasks, progress, config).start()
                tasks.wait()
                if tasks.failures:
                    raise CollectionFailed(f"collection tasks failed unexpectedly: {'; '.join(tasks.failures[:5])}")
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
            stats=_stats(stats, started, concurrency),
        )
        raise
    except CollectionFailed as exc:
        store.finish_run(run.id, status=RunStatus.FAILED, error=exc.message, stats=_stats(stats, started, concurrency))
        exc.run_id = run.id
        exc.message = f"{exc.message} (run {run.id} is stored as failed)"
        raise
    except Exception as exc:
        store.finish_run(
            run.id,
            status=RunStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}",
            stats=_stats(stats, started, concurrency),
        )
        raise CollectionFailed(f"collection failed: {type(exc).__name__}: {exc}", run_id=run.id) from exc
    summary = _stats(stats, started, concurrency)
    summary.update(evidence=evidence_count, gaps=gap_count)
    sealed = store.finish_run(run.id, stats=summary)
    judged = thresholds or Thresholds()
    save_findings(store, sealed.id, evaluate_run(store, sealed.id, thresholds=judged), thresholds=judged)
    return sealed


def _stats(stats: CallStats, started: float, concurrency: int) -> dict[str, object]:
    return {**stats.as_dict(), "duration_seconds": round(time.monotonic() - started, 3), "concurrency": concurrency}
