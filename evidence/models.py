"""SQLAlchemy models of the evidence store: runs, content-addressed blobs, evidence rows and gaps.

Every table here is covered by the run hash chain (see `evidence.chain`): a row's fields are hashed into its
`record_sha256`, and a run's digest covers its header, every record hash and the previous run's digest.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.database import Base, BigId, UTCDateTime, canonical_version_column
from evidence.labels import ACTOR_MAX_LENGTH


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    COMPLETE = "complete"
    PARTIAL = "partial"
    FAILED = "failed"
    INTERRUPTED = "interrupted"

    @classmethod
    def usable(cls) -> tuple[RunStatus, ...]:
        """Statuses whose evidence may be used as the latest evidence (a partial run's gaps count as gaps)."""
        return (cls.COMPLETE, cls.PARTIAL)


class Trigger(enum.StrEnum):
    CLI = "cli"
    SCHEDULE = "schedule"
    API = "api"


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    trigger: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(String(ACTOR_MAX_LENGTH))  # see evidence.labels
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.RUNNING.value, index=True)
    evidence_count: Mapped[int] = mapped_column(Integer, default=0)
    gap_count: Mapped[int] = mapped_column(Integer, default=0)
    # The highest evidence and gap ids when the run was sealed: a row added to a sealed run later gets a
    # higher id, so `verify --store` can name it.
    max_evidence_id: Mapped[int | None] = mapped_column(BigId, default=None)
    max_gap_id: Mapped[int | None] = mapped_column(BigId, default=None)
    # Collection statistics that are not evidence (API calls, duration per collector); outside the digest.
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    # Which process owns a running run, and when it last proved it was alive: start-up recovery marks
    # runs whose owner is gone as interrupted, without touching another replica's live run.
    worker: Mapped[str] = mapped_column(String(256), default="")
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # The chain: position, this run's digest and the digest of the run sealed before it.
    chain_seq: Mapped[int | None] = mapped_column(Integer, unique=True, default=None)
    digest: Mapped[str | None] = mapped_column(String(64), default=None)
    previous_digest: Mapped[str | None] = mapped_column(String(64), default=None)
    # The canonical JSON version (`core.canonical`) of the digest's header; set when the run is sealed.
    canonical_version: Mapped[int] = canonical_version_column()

    evidence: Mapped[list[Evidence]] = relationship(back_populates="run", lazy="raise_on_sql")
    gaps: Mapped[list[Gap]] = relationship(back_populates="run", lazy="raise_on_sql")

    @property
    def sealed(self) -> bool:
        return self.digest is not None


class Blob(Base):
    """A canonical JSON payload, stored once however many evidence rows point at it."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)  # uncompressed canonical bytes
    data: Mapped[bytes] = mapped_column(LargeBinary)  # zlib-compressed canonical JSON


class Evidence(Base):
    __tablename__ = "evidence"
    __table_args__ = (
        Index("ix_evidence_run_kind", "run_id", "kind"),
        Index("ix_evidence_run_account_region", "run_id", "account_id", "region"),
        Index("ix_evidence_sha256", "sha256"),
        # Resource order: two runs are diffed as one streamed merge in this order (evidence.diff).
        Index("ix_evidence_run_resource", "run_id", "account_id", "region", "resource_id", "kind"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="RESTRICT"))
    account_id: Mapped[str] = mapped_column(String(32))
    region: Mapped[str] = mapped_column(String(32))  # "global" for global services such as IAM
    service: Mapped[str] = mapped_column(String(64))
    resource_type: Mapped[str] = mapped_column(String(128))
    resource_id: Mapped[str] = mapped_column(String(2048))
    kind: Mapped[str] = mapped_column(String(128))
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    owner: Mapped[str | None] = mapped_column(String(256), default=None)
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256", ondelete="RESTRICT"))
    record_sha256: Mapped[str] = mapped_column(String(64))
    # The canonical JSON version of both the payload's bytes (so of `sha256`) and `record_sha256`.
    canonical_version: Mapped[int] = canonical_version_column()

    run: Mapped[Run] = relationship(back_populates="evidence", lazy="raise_on_sql")


class Gap(Base):
    """Evidence that could not be read: an API call that failed after retries, with the error."""

    __tablename__ = "gaps"
    __table_args__ = (Index("ix_gaps_run", "run_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="RESTRICT"))
    account_id: Mapped[str] = mapped_column(String(32))
    region: Mapped[str] = mapped_column(String(32))
    service: Mapped[str] = mapped_column(String(64))
    operation: Mapped[str] = mapped_column(String(128))
    # The evidence kind that is missing because of this failure, and the resource when it was per-resource.
    kind: Mapped[str | None] = mapped_column(String(128), default=None)
    resource_id: Mapped[str | None] = mapped_column(String(2048), default=None)
    error_code: Mapped[str] = mapped_column(String(128))
    message: Mapped[str] = mapped_column(Text)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    record_sha256: Mapped[str] = mapped_column(String(64))
    canonical_version: Mapped[int] = canonical_version_column()  # of `record_sha256`

    run: Mapped[Run] = relationship(back_populates="gaps", lazy="raise_on_sql")


class ShardState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class RunShard(Base):
    """One part of a sharded collection ("plan", "<account>/global" or "<account>/<region>"). A shard's evidence
    and gaps are written in the one transaction that marks it done, so a retried shard (its worker died) either
    finds it done or finds nothing of its dead attempt: the run never holds a shard's evidence twice."""

    __tablename__ = "run_shards"
    __table_args__ = (UniqueConstraint("run_id", "shard", name="uq_run_shards_run_shard"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(BigId, ForeignKey("runs.id", ondelete="RESTRICT"))
    shard: Mapped[str] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(16), default=ShardState.QUEUED.value)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    evidence_count: Mapped[int] = mapped_column(Integer, default=0)
    gap_count: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # what the shard needs: names, regions
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # its API calls, outside the digest
    error: Mapped[str | None] = mapped_column(Text, default=None)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)  # of its last attempt
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
