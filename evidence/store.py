"""The evidence store: run lifecycle (start, seal, recover) and the read side used by checks and reports."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import zlib
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import canonical
from core.clock import utcnow
from core.errors import ConflictError, NotFoundError, StoreError, VerificationError
from evidence.blobstore import BlobStore, blob_store
from evidence.chain import run_digest, run_header
from evidence.db import session_factory
from evidence.labels import fit_label
from evidence.models import Blob, Evidence, Gap, Run, RunStatus, Trigger
from evidence.recorder import RunRecorder

# Serialises sealing across processes on PostgreSQL (SQLite serialises writers itself; the unique
# chain position catches the rest).
_CHAIN_LOCK_KEY = 0x41554454  # "AUDT"


@dataclass(frozen=True, slots=True)
class EvidenceRecord:
    """One stored evidence item with its decoded payload."""

    id: int
    run_id: int
    account_id: str
    region: str
    service: str
    resource_type: str
    resource_id: str
    kind: str
    observed_at: datetime
    owner: str | None
    sha256: str
    payload: Any


def decode_blob(data: bytes) -> bytes:
    return zlib.decompress(data)


def _checked(sha256: str, content: bytes) -> bytes:
    actual = hashlib.sha256(content).hexdigest()
    if actual != sha256:
        raise VerificationError(
            f"evidence payload {sha256} was altered: its content hashes to {actual}",
            hint="run `auditpack verify --store` to see every altered row",
        )
    return content


def verified_payload(sha256: str, data: bytes) -> bytes:
    """The canonical bytes of a stored blob, checked against the hash that names it (VerificationError if not)."""
    return _checked(sha256, decode_blob(data))


def _record(row: Evidence, payload: Any) -> EvidenceRecord:
    return EvidenceRecord(
        id=row.id,
        run_id=row.run_id,
        account_id=row.account_id,
        region=row.region,
        service=row.service,
        resource_type=row.resource_type,
        resource_id=row.resource_id,
        kind=row.kind,
        observed_at=row.observed_at,
        owner=row.owner,
        sha256=row.sha256,
        payload=payload,
    )


def this_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class EvidenceStore:
    def __init__(
        self,
        engine: Engine,
        *,
        worker: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        blobs: BlobStore | None = None,
    ) -> None:
        self.engine = engine
        self.blobs = blobs if blobs is not None else blob_store(engine)  # where payload bytes live
        self.sessions = session_factory(engine)
        self.worker = worker or this_worker()
        self._clock = clock

    # -- write side -------------------------------------------------------------------------------------

    def start_run(self, *, trigger: Trigger | str, requested_by: str, scope: dict[str, Any]) -> Run:
        now = self._clock()
        run = Run(
            trigger=Trigger(trigger).value,
            requested_by=fit_label(requested_by),  # the column's width: see evidence.labels
            scope=scope,
            started_at=now,
            status=RunStatus.RUNNING.value,
            worker=self.worker,
            heartbeat_at=now,
            stats={},
            canonical_version=canonical.CURRENT_VERSION,  # set again when sealed: the digest's version
        )
        with self.sessions.begin() as session:
            session.add(run)
        return run

    def recorder(self, run_id: int, **options: Any) -> RunRecorder:
        return RunRecorder(self.sessions, run_id, clock=self._clock, blobs=self.blobs, **options)

    def finish_run(
        self,
        run_id: int,
        *,
        status: RunStatus | None = None,
        error: str | None = None,
        stats: dict[str, Any] | None = None,
    ) -> Run:
        """End a running run and seal it into the chain. Without `status`: partial if it has gaps, else complete."""
        for _attempt in range(5):
            try:
                with self.sessions.begin() as session:
                    return self._seal(session, run_id, status=status, error=error, stats=stats)
            except IntegrityError:  # another process took the same chain position; take the next one
                continue
        raise StoreError(f"could not seal run {run_id}: the chain kept moving under concurrent writers")

    def _seal(
        self,
        session: Session,
        run_id: int,
        *,
        status: RunStatus | None,
        error: str | None,
        stats: dict[str, Any] | None,
    ) -> Run:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK_KEY})
        run = session.get(Run, run_id, with_for_update=True)
        if run is None:
            raise NotFoundError(f"run {run_id} does not exist")
        if run.status != RunStatus.RUNNING.value:
            raise ConflictError(f"run {run_id} already ended ({run.status}); a run is sealed once")
        head = session.scalars(
            select(Run).where(Run.chain_seq.is_not(None)).order_by(Run.chain_seq.desc()).limit(1)
        ).first()
        evidence_hashes = list(session.scalars(select(Evidence.record_sha256).where(Evidence.run_id == run_id)))
        gap_hashes = list(session.scalars(select(Gap.record_sha256).where(Gap.run_id == run_id)))
        run.finished_at = self._clock()
        run.status = (status or (RunStatus.PARTIAL if gap_hashes else RunStatus.COMPLETE)).value
        run.error = error
        run.evidence_count = len(evidence_hashes)
        run.gap_count = len(gap_hashes)
        run.max_evidence_id = session.scalar(select(func.max(Evidence.id)))
        run.max_gap_id = session.scalar(select(func.max(Gap.id)))
        run.chain_seq = (head.chain_seq + 1) if head and head.chain_seq else 1
        run.previous_digest = head.digest if head else None
        run.stats = {**(run.stats or {}), **(stats or {})}
        # Sealing hashes the header now, in today's version, whichever version its rows were recorded in.
        run.canonical_version = canonical.CURRENT_VERSION
        run.digest = run_digest(run_header(run), evidence_hashes, gap_hashes, canonical_version=run.canonical_version)
        session.flush()
        return run

    def recover_interrupted(self, *, stale_after: timedelta = timedelta(minutes=10)) -> list[int]:
        """Mark runs whose process is gone as interrupted (and seal them). Returns their ids.

        A run is abandoned when its worker ran on this host and that process no longer exists, or when its
        heartbeat is older than `stale_after` (a replica on another host that died).
        """
        host = socket.gethostname()
        now = self._clock()
        with self.sessions() as session:
            running = session.scalars(select(Run).where(Run.status == RunStatus.RUNNING.value)).all()
        recovered: list[int] = []
        for run in running:
            if run.worker == self.worker:
                continue
            worker_host, _, pid = run.worker.rpartition(":")
            local_dead = worker_host == host and pid.isdigit() and not _pid_alive(int(pid))
            beat = run.heartbeat_at or run.started_at
            if not (local_dead or now - beat > stale_after):
                continue
            reason = "its process ended" if local_dead else f"no heartbeat since {beat.isoformat()}"
            try:
                self.finish_run(
                    run.id,
                    status=RunStatus.INTERRUPTED,
                    error=f"interrupted: worker {run.worker} stopped before the run ended ({reason})",
                )
            except ConflictError:  # another process recovered or finished it first
                continue
            recovered.append(run.id)
        return recovered

    # -- read side --------------------------------------------------------------------------------------

    def get_run(self, run_id: int) -> Run:
        with self.sessions() as session:
            run = session.get(Run, run_id)
        if run is None:
            raise NotFoundError(f"run {run_id} does not exist")
        return run

    def chain_head(self) -> Run | None:
        """The newest sealed run: its chain position and digest are the head of the chain."""
        query = select(Run).where(Run.chain_seq.is_not(None)).order_by(Run.chain_seq.desc()).limit(1)
        with self.sessions() as session:
            return session.scalars(query).first()

    def list_runs(self, *, limit: int = 50) -> list[Run]:
        with self.sessions() as session:
            return list(session.scalars(select(Run).order_by(Run.id.desc()).limit(limit)))

    def latest_run(self, *, as_of: datetime | None = None) -> Run | None:
        """The newest complete or partial run (finished at or before `as_of`); never a failed or interrupted one."""
        query = select(Run).where(Run.status.in_([s.value for s in RunStatus.usable()]))
        if as_of is not None:
            query = query.where(Run.finished_at <= as_of)
        with self.sessions() as session:
            return session.scalars(query.order_by(Run.finished_at.desc(), Run.id.desc()).limit(1)).first()

    def usable_runs(self, *, since: datetime, until: datetime) -> list[Run]:
        """Complete and partial runs finished within [since, until], oldest first (a packet's period)."""
        query = (
            select(Run)
            .where(
                Run.status.in_([s.value for s in RunStatus.usable()]),
                Run.finished_at >= since,
                Run.finished_at <= until,
            )
            .order_by(Run.finished_at, Run.id)
        )
        with self.sessions() as session:
            return list(session.scalars(query))

    def iter_evidence(
        self,
        run_id: int,
        *,
        kinds: Collection[str] | None = None,
        account_id: str | None = None,
        batch_size: int = 1000,
    ) -> Iterator[EvidenceRecord]:
        """Stream a run's evidence with decoded payloads, in id order (optionally one account's only).

        Every payload is checked against its sha256 as it is read: checks never judge content other than what
        the evidence row (and so the chain) names; an altered blob raises VerificationError.
        """
        query = (
            select(Evidence, Blob.data)
            .join(Blob, Blob.sha256 == Evidence.sha256)
            .where(Evidence.run_id == run_id)
            .order_by(Evidence.id)
        )
        if kinds is not None:
            query = query.where(Evidence.kind.in_(list(kinds)))
        if account_id is not None:
            query = query.where(Evidence.account_id == account_id)
        with self.sessions() as session:
            rows = session.execute(query.execution_options(yield_per=batch_size))
            if not self.blobs.external:
                for row, data in rows:
                    yield _record(row, json.loads(_checked(row.sha256, decode_blob(data))))
                return
            # The bytes are objects: fetch a batch's (concurrently) while the previous batch is consumed.
            batches = iter(lambda: rows.fetchmany(batch_size), [])
            prefetch = self.blobs.prefetch  # type: ignore[attr-defined]
            for batch, payloads in prefetch(batches, lambda batch: [row.sha256 for row, _data in batch]):
                for row, _data in batch:
                    yield _record(row, json.loads(payloads[row.sha256]))

    def gaps(self, run_id: int) -> list[Gap]:
        with self.sessions() as session:
            return list(session.scalars(select(Gap).where(Gap.run_id == run_id).order_by(Gap.id)))

    def payload_bytes(self, sha256: str) -> bytes:
        """The canonical JSON bytes of a stored payload."""
        with self.sessions() as session:
            blob = session.get(Blob, sha256)
        if blob is None:
            raise NotFoundError(f"no evidence payload with sha256 {sha256}")
        if self.blobs.external:
            return self.blobs.get(sha256)
        return decode_blob(blob.data)

    def load_payload(self, sha256: str) -> Any:
        return json.loads(self.payload_bytes(sha256))
