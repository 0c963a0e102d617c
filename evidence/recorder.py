"""The write side of a run: thread-safe, batched recording of evidence and gaps.

Collectors run concurrently, so `RunRecorder.add` may be called from many threads. Payloads are canonicalised
(in the current version of `core.canonical`, which each row records), hashed and compressed in the caller's
thread; rows are written in batches (blobs first, ignoring ones already stored, so identical payloads are stored
once). With an external blob store (`evidence.blobstore`, S3 with Object Lock) the payloads of a batch that the
`blobs` table does not name yet are put there first, concurrently, and only then are the rows (hash and size, no
bytes) written: a row never names an object that is not stored. A heartbeat thread keeps the run's
`heartbeat_at` fresh so start-up recovery can tell a live run from one whose process died.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.dml import Insert

from core import canonical
from core.clock import utcnow
from core.errors import ConflictError, StoreError
from evidence.blobstore import BlobStore, DatabaseBlobStore
from evidence.chain import evidence_record_hash, gap_record_hash
from evidence.models import Blob, Evidence, Gap, Run, RunStatus


def insert_ignoring_duplicates(table: Table, dialect_name: str) -> Insert:
    """INSERT that skips rows whose primary key already exists (the blob table's dedup)."""
    if dialect_name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect_name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise StoreError(f"unsupported database dialect {dialect_name!r}")


class RunRecorder:
    """Records evidence and gaps for one running run. Use as a context manager, or call `close()`."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        run_id: int,
        *,
        batch_size: int = 500,
        heartbeat_seconds: float = 30.0,
        clock: Callable[[], datetime] = utcnow,
        blobs: BlobStore | None = None,
    ) -> None:
        self._sessions = session_factory
        self._blob_store = blobs or DatabaseBlobStore()
        self._payloads: dict[str, bytes] = {}  # sha256 -> canonical bytes, for an external blob store
        self.run_id = run_id
        self._batch_size = batch_size
        self._clock = clock
        self._buffer_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._blobs: dict[str, dict[str, Any]] = {}
        self._evidence: list[dict[str, Any]] = []
        self._gaps: list[dict[str, Any]] = []
        self.evidence_added = 0
        self.gaps_added = 0
        self._closed = False
        self._stop = threading.Event()
        self._heartbeat = threading.Thread(
            target=self._beat, args=(heartbeat_seconds,), name=f"run-{run_id}-heartbeat", daemon=True
        )
        self._heartbeat.start()

    def add(
        self,
        *,
        account_id: str,
        region: str,
        service: str,
        resource_type: str,
        resource_id: str,
        kind: str,
        payload: Any,
        observed_at: datetime | None = None,
        owner: str | None = None,
    ) -> str:
        """Record one evidence item; returns the payload's sha256."""
        version = canonical.CURRENT_VERSION
        sha256, data = canonical.content_address(payload, version=version)
        observed = observed_at or self._clock()
        row = {
            "run_id": self.run_id,
            "account_id": account_id,
            "region": region,
            "service": service,
            "resource_type": resource_type,
            "resource_id": resource_id,
            "kind": kind,
            "observed_at": observed,
            "owner": owner,
            "sha256": sha256,
            "canonical_version": version,  # of the payload's bytes and of the record hash
        }
        row["record_sha256"] = evidence_record_hash(**row)
        external = self._blob_store.external
        blob = {"sha256": sha256, "size": len(data), "data": b"" if external else zlib.compress(data, 6)}
        with self._buffer_lock:
            self._check_open()
            self._blobs.setdefault(sha256, blob)
            if external:
                self._payloads.setdefault(sha256, data)
            self._evidence.append(row)
            self.evidence_added += 1
            full = len(self._evidence) >= self._batch_size
        if full:
            self.flush()
        return sha256

    def add_gap(
        self,
        *,
        account_id: str,
        region: str,
        service: str,
        operation: str,
        error_code: str,
        message: str,
        kind: str | None = None,
        resource_id: str | None = None,
        observed_at: datetime | None = None,
    ) -> None:
        """Record evidence that could not be read, with the operation and the error AWS gave."""
        row = {
            "run_id": self.run_id,
            "account_id": account_id,
            "region": region,
            "service": service,
            "operation": operation,
            "kind": kind,
            "resource_id": resource_id,
            "error_code": error_code,
            "message": message,
            "observed_at": observed_at or self._clock(),
            "canonical_version": canonical.CURRENT_VERSION,
        }
        row["record_sha256"] = gap_record_hash(**row)
        with self._buffer_lock:
            self._check_open()
            self._gaps.append(row)
            self.gaps_added += 1

    def flush(self, *, also: Callable[[Session], None] | None = None) -> None:
        """Write buffered rows in one transaction. Fails if the run is no longer running. `also` writes more in
        that transaction (a shard marks itself done with its rows: evidence.shards)."""
        with self._buffer_lock:
            blobs, self._blobs = list(self._blobs.values()), {}
            payloads, self._payloads = self._payloads, {}
            evidence, self._evidence = self._evidence, []
            gaps, self._gaps = self._gaps, []
        if payloads:
            self._put_external(payloads)
        with self._write_lock, self._sessions.begin() as session:
            self._touch(session)
            dialect = session.get_bind().dialect.name
            if blobs:
                session.execute(insert_ignoring_duplicates(Blob.__table__, dialect), blobs)
            if evidence:
                session.execute(insert(Evidence), evidence)
            if gaps:
                session.execute(insert(Gap), gaps)
            if also is not None:
                also(session)

    def _put_external(self, payloads: dict[str, bytes]) -> None:
        """Put the payloads no `blobs` row names yet (a row is written only after its object is stored)."""
        hashes = list(payloads)
        with self._sessions() as session:
            known: set[str] = set()
            for start in range(0, len(hashes), 500):
                chunk = hashes[start : start + 500]
                known.update(session.scalars(select(Blob.sha256).where(Blob.sha256.in_(chunk))))
        self._blob_store.put_many({sha256: data for sha256, data in payloads.items() if sha256 not in known})

    def close(self, *, also: Callable[[Session], None] | None = None) -> None:
        if self._closed:
            return
        try:
            self.flush(also=also)
        finally:
            self._closed = True
            self._stop.set()
            self._heartbeat.join(timeout=5)

    def abandon(self) -> None:
        """Close without writing what is buffered (a shard that failed: its retry collects it again)."""
        with self._buffer_lock:
            self._blobs, self._payloads, self._evidence, self._gaps = {}, {}, [], []
            self._closed = True
        self._stop.set()
        self._heartbeat.join(timeout=5)

    def __enter__(self) -> RunRecorder:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise ConflictError(f"the recorder of run {self.run_id} is closed")

    def _touch(self, session: Session) -> None:
        result = session.execute(
            update(Run)
            .where(Run.id == self.run_id, Run.status == RunStatus.RUNNING.value)
            .values(heartbeat_at=self._clock())
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConflictError(f"run {self.run_id} is not running: evidence cannot be added to a finished run")

    def _beat(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                with self._write_lock, self._sessions.begin() as session:
                    self._touch(session)
            except ConflictError:
                return
            except Exception:  # noqa: S112 - a missed heartbeat is retried; the run's own writes report errors
                continue
