"""The findings table: check verdicts derived from a run's evidence.

Findings are conclusions, kept apart from evidence: they are not part of the run chain, and re-evaluating a
run (new thresholds, improved checks) replaces them; each evaluation's finding set records what produced them and
a digest over them (see `evidence.findings_digest`). Every finding names the evidence payloads (sha256) it
rests on, so its basis can always be shown. Indexes serve paging through one run's findings by check, status,
account/region, one account's verdicts of one check by status, and one resource's verdicts (its history across
runs in the web interface; bench/ui.py) (the trailing id keeps keyset pagination on an index; other combinations
filter one of these, measured by bench/api.py --route /v1/findings). A filter on observation time starts where
`finding_ranges` says the first possible match is (`evidence.finding_ranges`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base, BigId, UTCDateTime, canonical_version_column


class FindingRow(Base):
    __tablename__ = "findings"
    __table_args__ = (
        Index("ix_findings_run_id", "run_id", "id"),
        Index("ix_findings_run_check", "run_id", "check_id", "id"),
        Index("ix_findings_run_status", "run_id", "status", "id"),
        Index("ix_findings_run_account_region", "run_id", "account_id", "region", "id"),
        Index("ix_findings_run_account_check_status", "run_id", "account_id", "check_id", "status", "id"),
        # Resource order, for diffing two runs' findings as a streamed merge (evidence.diff).
        Index("ix_findings_run_resource", "run_id", "account_id", "region", "resource_id", "check_id"),
        # One resource's verdicts in a run (the web interface's resource history across runs).
        Index("ix_findings_run_resource_id", "run_id", "resource_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    check_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[str] = mapped_column(String(32))
    region: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[str] = mapped_column(String(2048))
    resource_type: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[Any]] = mapped_column(JSON)  # sha256 of every payload the verdict rests on
    observed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    owner: Mapped[str | None] = mapped_column(String(256), default=None)


class FindingSet(Base):
    """One evaluation of a run: the parameters and check code behind its findings and their digest.

    A run's findings rows exist exactly when its set row does (both are written in one transaction), so a sealed
    run without a set has not been evaluated yet, and rows without a set were written by something else.
    """

    __tablename__ = "finding_sets"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    finding_count: Mapped[int] = mapped_column(BigId)
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSON)
    checks_version: Mapped[str] = mapped_column(String(64))
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    canonical_version: Mapped[int] = canonical_version_column()  # of the digest and the record hashes under it
    # What the period history groups runs by (`evidence.findings_digest.verdicts_fingerprint`): equal fingerprints
    # mean equal verdicts. NULL for sets evaluated before migration 0015 (their rows are read instead).
    verdicts_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    oldest_observed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class FindingRange(Base):
    """The earliest and latest `observed_at` among the findings of one block of consecutive row ids of a run.

    Derived from the findings when they are saved (`evidence.finding_ranges`), in the same transaction, and
    replaced with them: a listing filtered by observation time reads only the blocks that can hold a match,
    instead of every row of the run before the first one (observation time and row order need not agree).
    """

    __tablename__ = "finding_ranges"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    first_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(BigId)
    observed_min: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    observed_max: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
