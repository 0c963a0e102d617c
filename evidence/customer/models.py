"""Tables of customer evidence: content-addressed chunked content, items, exceptions, review events, the ledger.

Every row here is immutable: the database refuses UPDATE and DELETE on all of them (triggers from migration
0010), so a review is an appended event, never an edited state. Items, exceptions and events each store
`record_sha256` (see `evidence.customer.ledger`) and get exactly one entry in `customer_ledger`, the hash chain
`auditpack verify --store` walks. Their ids are assigned under the ledger lock before the insert, because the
record hash covers the id and a row can never be updated once written.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, BigId, UTCDateTime, canonical_version_column

CHUNK_SIZE = 1024 * 1024  # content is stored and streamed in 1 MiB chunks, so any size fits either database


class Content(Base):
    """One distinct content (a document, a statement, a captured export), stored once however often submitted."""

    __tablename__ = "customer_contents"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(128))  # sniffed from the bytes
    chunk_count: Mapped[int] = mapped_column(Integer)


class ContentChunk(Base):
    __tablename__ = "customer_content_chunks"

    sha256: Mapped[str] = mapped_column(ForeignKey("customer_contents.sha256", ondelete="RESTRICT"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # 0, 1, 2 ...
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Item(Base):
    __tablename__ = "customer_items"
    __table_args__ = (Index("ix_customer_items_supersedes", "supersedes", unique=True),)  # superseded once

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)  # see ledger.seal
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    controls: Mapped[list[str]] = mapped_column(JSON)  # "framework:control_id", sorted
    owner: Mapped[str] = mapped_column(String(256))
    submitted_by: Mapped[str] = mapped_column(String(256))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime())
    content_sha256: Mapped[str] = mapped_column(ForeignKey("customer_contents.sha256", ondelete="RESTRICT"))
    media_type: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(BigInteger)
    filename: Mapped[str | None] = mapped_column(String(255), default=None)  # sanitised
    supersedes: Mapped[int | None] = mapped_column(ForeignKey("customer_items.id", ondelete="RESTRICT"), default=None)
    statement_by: Mapped[str | None] = mapped_column(String(256), default=None)
    record_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    # `evidence import`: the file's path inside the imported folder, which finds its earlier versions.
    import_path: Mapped[str | None] = mapped_column(String(1024), default=None, index=True)
    record_sha256: Mapped[str] = mapped_column(String(64))
    canonical_version: Mapped[int] = canonical_version_column()  # of `record_sha256`


class RiskExceptionRow(Base):
    __tablename__ = "customer_exceptions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)  # see ledger.seal
    check_id: Mapped[str | None] = mapped_column(String(128), default=None)
    control: Mapped[str | None] = mapped_column(String(256), default=None)  # "framework:control_id"
    resource_ids: Mapped[list[str]] = mapped_column(JSON)
    account_id: Mapped[str | None] = mapped_column(String(32), default=None)
    justification: Mapped[str] = mapped_column(Text)
    compensating: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(256))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    record_sha256: Mapped[str] = mapped_column(String(64))
    canonical_version: Mapped[int] = canonical_version_column()  # of `record_sha256`


class ReviewEventRow(Base):
    """One state change of an item or an exception (exactly one of `item_id` / `exception_id` is set)."""

    __tablename__ = "customer_events"
    __table_args__ = (
        Index("ix_customer_events_item", "item_id", "id"),
        Index("ix_customer_events_exception", "exception_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)  # see ledger.seal
    item_id: Mapped[int | None] = mapped_column(ForeignKey("customer_items.id", ondelete="RESTRICT"), default=None)
    exception_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer_exceptions.id", ondelete="RESTRICT"), default=None
    )
    state: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(256))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    record_sha256: Mapped[str] = mapped_column(String(64))
    canonical_version: Mapped[int] = canonical_version_column()  # of `record_sha256`


class LedgerEntry(Base):
    """The chain: one entry per item, exception and event, in the order they were written."""

    __tablename__ = "customer_ledger"
    __table_args__ = (UniqueConstraint("entry_type", "entry_id", name="uq_customer_ledger_entry"),)

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)  # 1, 2, 3 ... no gaps
    entry_type: Mapped[str] = mapped_column(String(16))  # item | exception | event
    entry_id: Mapped[int] = mapped_column(BigId)
    record_sha256: Mapped[str] = mapped_column(String(64))
    previous_digest: Mapped[str | None] = mapped_column(String(64), default=None)
    digest: Mapped[str] = mapped_column(String(64))
    canonical_version: Mapped[int] = canonical_version_column()  # of `digest`
