"""The API's background work, done by the real parts of auditpack: collection (`evidence.orchestrator`), packet
building (`auditpack.packets.make_packet`: evaluation, rendering, signing) and packet verification
(`reports.verify.verify_file`). Each is a small callable matching a protocol of `api.executors`."""

from __future__ import annotations

import contextlib
import logging
import time
import zipfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from api.executors import BuiltPacket, CollectRequest, Executors, PacketRequest
from auditpack.collection import (
    lookups_from_settings,
    owner_map_from_settings,
    scope_from_settings,
    thresholds_from_settings,
)
from auditpack.packet_process import build, build_in_child, can_spawn
from auditpack.packets import NoEvidenceError, Window
from auditpack.settings import Settings
from auditpack.wiring import expiring_soon
from core.errors import ConflictError, InputError
from evidence.aws.accounts import CollectionFailed
from evidence.aws.scope import CollectionScope
from evidence.models import RunStatus
from evidence.orchestrator import collect
from evidence.shards import (
    PLAN,
    all_done,
    fail_shard,
    plan_changes,
    plan_detail,
    queued_shards,
    run_shard,
    seal_when_done,
    start_sharded,
)
from evidence.store import EvidenceStore
from reports.bundle_files import MANIFEST
from reports.localca import local_ca_certificate
from reports.manifest import read_manifest
from reports.verify import PacketVerification, verify_file

# pyHanko logs certificate path-building failures with tracebacks; the verification result already says what
# failed (as a problem), so the server log need not repeat it on every untrusted packet.
log = logging.getLogger("auditpack.collect")
log_packets = logging.getLogger("auditpack.packets")
for _name in ("pyhanko", "pyhanko_certvalidator"):
    logging.getLogger(_name).addHandler(logging.NullHandler())


def packet_window(
    *, as_of: datetime | None, period_from: date | None, period_to: date | None, now: Callable[[], datetime]
) -> Window:
    """The API's as_of (a moment) or period (two days) as the packet's evaluation window."""
    if period_from is not None or period_to is not None:
        if period_from is None or period_to is None or as_of is not None:
            raise InputError("a packet covers either a moment (as_of) or a whole period (from and to)")
        return Window.of(period=(period_from, period_to))
    return Window(until=as_of or now())


class Collector:
    """`CollectRunner`: one collection with the service's settings; what the request names (accounts or the
    Organization, regions, role) replaces the configured values, as command-line options do."""

    def __init__(self, settings: Settings, store: EvidenceStore) -> None:
        self._settings = settings
        self._store = store

    def __call__(self, scope: CollectRequest, requested_by: str, *, trigger: str) -> int:
        settings = self._settings
        run = collect(
            self._store,
            scope_from_settings(
                settings,
                regions=scope.regions,
                accounts=scope.accounts,
                org=scope.organization,
                role_name=scope.role_name,
            ),
            trigger=trigger,
            requested_by=requested_by,
            concurrency=settings.concurrency,
            thresholds=thresholds_from_settings(settings),
            owner_map=owner_map_from_settings(settings),  # read per run: the file may have changed
            changes=lookups_from_settings(settings),
        )
        return run.id

    def scope(self, request: CollectRequest) -> CollectionScope:
        return scope_from_settings(
            self._settings,
            regions=request.regions,
            accounts=request.accounts,
            org=request.organization,
            role_name=request.role_name,
        )


class ShardedCollector(Collector):
    """`CollectRunner` on procrastinate workers with AUDITPACK_COLLECT_SHARDS: the collection job starts the run
    and hands its plan to the workers, then waits for the run to end (so the job's states keep their meaning);
    `run_shard` is the task every worker runs for one shard (evidence.shards), `seal` the task the last shard
    defers to seal the run (evaluating every check in a slot of its own, not the shard's). `defer(run_id, shard)`
    hands a shard to the workers (api.jobs.queue.defer_shard), `defer_seal(run_id)` the seal (defer_seal)."""

    def __init__(
        self,
        settings: Settings,
        store: EvidenceStore,
        defer: Callable[[int, str], None],
        defer_seal: Callable[[int], None],
        *,
        poll_seconds: float = 0.5,
        sweep_seconds: float = 30.0,
    ) -> None:
        super().__init__(settings, store)
        self._defer = defer
        self._defer_seal = defer_seal
        self._poll = poll_seconds
        self._sweep = sweep_seconds

    def __call__(self, scope: CollectRequest, requested_by: str, *, trigger: str) -> int:
        store = self._store
        run = start_sharded(
            store,
            self.scope(scope),
            trigger=trigger,
            requested_by=requested_by,
            detail={"request": scope.to_json()},
            changes=lookups_from_settings(self._settings),
        )
        self._defer(run.id, PLAN)
        swept = time.monotonic()
        while (current := store.get_run(run.id)).status == RunStatus.RUNNING.value:
            if time.monotonic() - swept >= self._sweep:
                # a worker that died between committing its shard and handing over what it planned, or the seal
                for shard in queued_shards(store, run.id) + plan_changes(store, run.id):
                    self._defer(run.id, shard)
                self.seal(run.id)
                swept = time.monotonic()
            time.sleep(self._poll)
        if current.status == RunStatus.FAILED.value:
            raise CollectionFailed(f"{current.error} (run {run.id} is stored as failed)", run_id=run.id)
        if current.status == RunStatus.INTERRUPTED.value:
            raise CollectionFailed(f"run {run.id} was interrupted: {current.error}", run_id=run.id)
        return run.id

    def run_shard(self, run_id: int, shard: str, last_attempt: bool = True) -> None:
        """One shard, then the shards it planned handed to the workers, then (if it was the last) the changes shard
        when the run's lookups are due, else the seal task. A shard that cannot proceed (`CollectionFailed`) fails
        the run; one that breaks unexpectedly fails it on its `last_attempt` only: before, the error is raised for
        procrastinate to retry the shard (its attempt wrote nothing)."""
        store, settings = self._store, self._settings
        request = CollectRequest.from_json(plan_detail(store, run_id).get("request") or {})
        try:
            planned = run_shard(
                store,
                self.scope(request),
                run_id,
                shard,
                concurrency=settings.concurrency,
                owner_map=owner_map_from_settings(settings),
            )
        except ConflictError:  # the run ended (failed or interrupted): nothing left to collect for it
            log.info("shard %s of run %s not collected: the run has ended", shard, run_id)
            return
        except Exception as exc:
            if not last_attempt and not isinstance(exc, CollectionFailed):
                log.warning("shard %s of run %s broke (%s: %s); it is retried", shard, run_id, type(exc).__name__, exc)
                raise
            message = exc.message if isinstance(exc, CollectionFailed) else f"{type(exc).__name__}: {exc}"
            fail_shard(store, run_id, shard, message)
            with contextlib.suppress(ConflictError):
                store.finish_run(run_id, status=RunStatus.FAILED, error=f"shard {shard}: {message}")
            raise
        following = planned + plan_changes(store, run_id)
        for child in following:
            self._defer(run_id, child)
        if not following and all_done(store, run_id):
            self._defer_seal(run_id)  # its queueing lock keeps one waiting when two last shards end at once

    def seal(self, run_id: int) -> None:
        """The seal task: seal the run and store its findings once every shard is done (else nothing)."""
        seal_when_done(self._store, run_id, thresholds=thresholds_from_settings(self._settings))


class PacketMaker:
    """`PacketBuilder` and `PacketPrecheck`: the packet use case the CLI runs, into the API's staging files.

    `separate_process` (the real wiring, AUDITPACK_PACKET_PROCESS): build each packet in a spawned child process
    whose main thread runs the stages in parallel (auditpack.packet_process), when the child can reopen the store
    from the settings; else on the calling (job) thread."""

    def __init__(
        self,
        settings: Settings,
        store: EvidenceStore,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        separate_process: bool = False,
    ) -> None:
        self._settings = settings
        self._store = store
        self._now = now
        self._spawn = separate_process and can_spawn(settings, store)

    def __call__(self, request: PacketRequest) -> BuiltPacket:
        window = packet_window(
            as_of=request.as_of, period_from=request.period_from, period_to=request.period_to, now=self._now
        )
        if self._spawn:
            built = build_in_child(self._settings, request, window)
            log_packets.info(
                "packet %s built in process %d (stages forked: %s)",
                request.packet_id,
                built.pid,
                "yes" if built.forked_stages else "no",
            )
        else:
            built = build(self._settings, self._store, request, window)
        result = SimpleNamespace(**built.result)
        # Auditors granted the packet may read the evidence of the run it rests on (the one in its bundle), and
        # the customer evidence items and exceptions its manifest lists.
        items, exceptions = listed_customer_ids(Path(result.bundle_path)) if result.bundle_path else ((), ())
        return BuiltPacket.from_result(result, run_ids=built.run_ids, customer_item_ids=items, exception_ids=exceptions)

    def precheck(
        self,
        *,
        framework: str,
        as_of: datetime | None,
        period_from: date | None,
        period_to: date | None,
        accounts: tuple[str, ...],
    ) -> None:
        """Refuse (409) a packet with no usable evidence run for its date or period: its build could only fail."""
        del framework, accounts  # the framework was checked against the catalogs; any account scope can be built
        window = packet_window(as_of=as_of, period_from=period_from, period_to=period_to, now=self._now)
        if not window.has_evidence(self._store):
            raise NoEvidenceError(window)


def _ids(listed: Any) -> tuple[int, ...]:
    """Ids from a manifest list: plain ids, or entries carrying an `id`."""
    found = []
    for entry in listed if isinstance(listed, list) else ():
        value = entry.get("id") if isinstance(entry, dict) else entry
        if isinstance(value, int) and not isinstance(value, bool):
            found.append(value)
    return tuple(found)


def listed_customer_ids(bundle: Path) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The customer evidence item ids and exception ids the manifest header lists (`customer_evidence`,
    `exceptions`); none when the packet has no such sections."""
    with zipfile.ZipFile(bundle) as archive, archive.open(MANIFEST) as member:
        header, _entries = read_manifest(member)  # the header only: the evidence entries are not read
    return _ids(header.get("customer_evidence")), _ids(header.get("exceptions"))


class Verifier:
    """`PacketVerifier`: offline verification trusting the configured roots and the local CA of the data dir."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def trust_roots(self) -> list[Path]:
        roots = list(self._settings.trust_roots)
        local = local_ca_certificate(self._settings.data_dir)  # looked up per call: the first packet creates it
        if local is not None:
            roots.append(local)
        return roots

    def __call__(self, path: Path) -> PacketVerification:
        return verify_file(path, trust=self.trust_roots())


def real_executors(settings: Settings, store: EvidenceStore) -> Executors:
    from auditpack.notify import CaptureNotifier

    maker = PacketMaker(settings, store, separate_process=settings.packet_process)
    return Executors(
        notify=CaptureNotifier(settings, store) if settings.webhooks else None,
        collect=Collector(settings, store),
        build_packet=maker,
        verify_packet=Verifier(settings),
        check_packet=maker.precheck,
        summarize_run=lambda run_id: {"expiring_within_30_days": expiring_soon(store)},
    )
