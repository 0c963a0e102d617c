"""Tables of the API service: tokens, packets, grants, the access log and background jobs.

They live on the shared `evidence.models.Base` so one Alembic history covers the whole schema (migration 0003).
Secrets are never stored: a token row holds the SHA-256 of its secret. File paths of packets are chosen by the
server (relative to the data directory) and never come from a client.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, BigId, UTCDateTime, canonical_version_column
from core.vocabulary import JobKind as JobKind  # defined in core: the CLI lists them without loading these tables
from core.vocabulary import JobStatus
from core.vocabulary import Role as Role
from evidence.labels import ACTOR_MAX_LENGTH
from evidence.models import Evidence

NOTE_MAX_LENGTH = 256  # a token's or grant's note; a token's name embeds it (see evidence.labels)


class PacketStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    READY = "ready"  # files complete, hashed and moved into place
    FAILED = "failed"


class Token(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the secret (e.g. "ap_Xk3f"), so a listed token can be recognised without the secret.
    hint: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(NOTE_MAX_LENGTH), default=None)
    created_by: Mapped[str] = mapped_column(String(ACTOR_MAX_LENGTH))  # who: see evidence.labels
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # The packet an auditor token was minted for (its authority comes from its grants).
    packet_id: Mapped[str | None] = mapped_column(ForeignKey("api_packets.id", ondelete="RESTRICT"), default=None)


class Packet(Base):
    __tablename__ = "api_packets"
    __table_args__ = (
        # Two requests with the same Idempotency-Key from the same token create one packet: the database decides,
        # so two concurrent requests cannot both pass a check-then-insert.
        UniqueConstraint("requested_by_token_id", "idempotency_key", name="uq_api_packets_idempotency"),
        Index("ix_api_packets_status", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # UUID, printed in the packet
    framework: Mapped[str] = mapped_column(String(64))
    as_of: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    period_from: Mapped[date | None] = mapped_column(Date, default=None)
    period_to: Mapped[date | None] = mapped_column(Date, default=None)
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    requested_by: Mapped[str] = mapped_column(String(ACTOR_MAX_LENGTH))
    requested_by_token_id: Mapped[int | None] = mapped_column(BigId, default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), default=None)
    # SHA-256 of the canonical request: the same key with a different request is refused, not replayed.
    request_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=PacketStatus.QUEUED.value)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    job_id: Mapped[int | None] = mapped_column(BigId, default=None)
    run_ids: Mapped[list[int]] = mapped_column(JSON, default=list)  # the evidence runs the packet rests on
    # The customer evidence items and exceptions its manifest lists (migration 0011): what a grant lets an auditor
    # read of them. Recorded when the build finishes, like run_ids.
    customer_item_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    exception_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    pdf_path: Mapped[str | None] = mapped_column(String(512), default=None)  # relative to the data directory
    pdf_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    pdf_size: Mapped[int | None] = mapped_column(BigInteger, default=None)
    bundle_path: Mapped[str | None] = mapped_column(String(512), default=None)
    bundle_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    bundle_size: Mapped[int | None] = mapped_column(BigInteger, default=None)
    pages: Mapped[int | None] = mapped_column(Integer, default=None)
    signer_fingerprint: Mapped[str | None] = mapped_column(String(128), default=None)
    signer_identity: Mapped[str | None] = mapped_column(String(512), default=None)
    self_signed: Mapped[bool | None] = mapped_column(Boolean, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class Grant(Base):
    """An auditor's access to one packet, through one token, until it expires or is revoked."""

    __tablename__ = "api_grants"
    __table_args__ = (Index("ix_api_grants_token", "token_id"), Index("ix_api_grants_packet", "packet_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    packet_id: Mapped[str] = mapped_column(ForeignKey("api_packets.id", ondelete="RESTRICT"))
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="RESTRICT"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(String(NOTE_MAX_LENGTH), default=None)
    created_by: Mapped[str] = mapped_column(String(ACTOR_MAX_LENGTH))  # who: see evidence.labels
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class AccessLogEntry(Base):
    """One download or auditor request. Append-only (database triggers refuse UPDATE and DELETE) and hash-chained:
    `entry_sha256` covers the entry's fields and `previous_sha256`, see `api.services.access_log`."""

    __tablename__ = "api_access_log"
    __table_args__ = (Index("ix_api_access_log_packet", "packet_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigId, unique=True)  # 1, 2, 3 ... without holes
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    principal: Mapped[str] = mapped_column(String(ACTOR_MAX_LENGTH))  # who: "auditor token 7 (Acme LLP)"
    token_id: Mapped[int | None] = mapped_column(BigId, default=None)
    role: Mapped[str | None] = mapped_column(String(16), default=None)
    action: Mapped[str] = mapped_column(String(32))  # download.pdf | download.bundle | download.evidence | request
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(2048))
    packet_id: Mapped[str | None] = mapped_column(String(36), default=None)
    status_code: Mapped[int] = mapped_column(Integer)
    # An IP address as `api.client_address` normalises it (at most 55 characters with a zone), or a marker.
    client: Mapped[str | None] = mapped_column(String(64), default=None)
    bytes_sent: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)  # of the bytes actually served
    previous_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    entry_sha256: Mapped[str] = mapped_column(String(64))
    canonical_version: Mapped[int] = canonical_version_column()  # of `entry_sha256`


class IdempotencyRecord(Base):
    """An Idempotency-Key of a request whose result is a customer-evidence row (migration 0011).

    The customer tables are append-only rows of `evidence` and know nothing of HTTP, so the API keeps the key
    here: reserved (resource_id None) before the work, completed with the id it produced after. The unique
    constraint decides between concurrent requests with one key; see `api.services.idempotency`."""

    __tablename__ = "api_idempotency_keys"
    __table_args__ = (UniqueConstraint("token_id", "idempotency_key", name="uq_api_idempotency_keys"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    token_id: Mapped[int] = mapped_column(BigId)
    idempotency_key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of the canonical request (method, route, fields, content hash): the same key with another is refused.
    request_sha256: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[int | None] = mapped_column(BigId, default=None)  # None: the first request is still running
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Job(Base):
    __tablename__ = "api_jobs"
    __table_args__ = (
        # One job per (kind, key): repeated API requests and every replica's scheduler firing map to one row.
        UniqueConstraint("kind", "idempotency_key", name="uq_api_jobs_idempotency"),
        Index("ix_api_jobs_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED.value)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    requested_by: Mapped[str] = mapped_column(String(ACTOR_MAX_LENGTH))
    idempotency_key: Mapped[str | None] = mapped_column(String(300), default=None)
    worker: Mapped[str | None] = mapped_column(String(256), default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


# Indexes on the evidence table for the API's listing, which pages newest observation first with a keyset cursor
# (observed_at, id): one per common leading filter, each ending in the sort key so a page is a short index range
# scan, not a filter over the whole table (bench/api.py: 1M rows). Declared here, with the query they serve.
EVIDENCE_LISTING_INDEXES = (
    Index("ix_evidence_observed", Evidence.observed_at, Evidence.id),
    Index("ix_evidence_account_observed", Evidence.account_id, Evidence.observed_at, Evidence.id),
    Index("ix_evidence_kind_observed", Evidence.kind, Evidence.observed_at, Evidence.id),
    Index("ix_evidence_run_observed", Evidence.run_id, Evidence.observed_at, Evidence.id),
)
