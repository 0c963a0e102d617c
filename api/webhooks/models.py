"""The webhook delivery log: one row per notification sent to one webhook, updated as its attempts end.

A webhook's URL may itself be a secret (chat tools put their token in the path), so the row keeps only its scheme
and host (`target`) and the SHA-256 of the whole URL (`target_sha256`, to tell two webhooks of one host apart);
never the URL, the secret or the signature.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, BigId, UTCDateTime


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_run", "run_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(String(36), unique=True)  # also in the body and X-Auditpack-Delivery
    event: Mapped[str] = mapped_column(String(32))  # capture | test
    run_id: Mapped[int | None] = mapped_column(BigInteger, default=None)  # none for a test, or a capture with no run
    target: Mapped[str] = mapped_column(String(512))  # scheme://host[:port]/…
    target_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    http_status: Mapped[int | None] = mapped_column(Integer, default=None)  # of the last attempt
    error: Mapped[str | None] = mapped_column(Text, default=None)  # why the last attempt failed
    body_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # every attempt: {"at", "http_status", "error", "seconds"}
    attempt_log: Mapped[list[Any]] = mapped_column(JSON, default=list)
