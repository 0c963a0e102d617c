"""Where in a run's findings a time window can match: per block of `BLOCK` consecutive row ids, the earliest and
latest `observed_at` (`finding_ranges`). A listing filtered by `observed_from`/`observed_to` pages in row-id order;
without this, its first page reads every earlier row of the run before the first match (about 100 ms at a million
findings when the window is late in the run). With it, the page starts at the first block whose observation times
overlap the window and ends after the last one: a handful of index reads, whatever the window.

The bounds are safe for any order of observation times: a block holding a match overlaps the window, so no match
lies outside the first and last overlapping blocks. When observation time follows row order (findings saved in
collection order) they are also tight; when it does not, matches are spread through the run and the page finds
them quickly anyway.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, and_, case, delete, func, insert, select, true
from sqlalchemy.orm import Session

from evidence.findings_model import FindingRange, FindingRow

BLOCK = 1024  # row ids per range: about a thousand ranges per million findings


def record_ranges(db: Session | Connection, run_id: int) -> None:
    """Summarise the run's stored findings into its ranges, replacing any it had (call in the transaction that
    stores the findings, after them)."""
    db.execute(delete(FindingRange).where(FindingRange.run_id == run_id))
    block = FindingRow.id // BLOCK
    summary = (
        select(
            FindingRow.run_id,
            func.min(FindingRow.id),
            func.max(FindingRow.id),
            func.min(FindingRow.observed_at),
            func.max(FindingRow.observed_at),
        )
        .where(FindingRow.run_id == run_id)
        .group_by(FindingRow.run_id, block)
    )
    columns = ["run_id", "first_id", "last_id", "observed_min", "observed_max"]
    db.execute(insert(FindingRange).from_select(columns, summary))


def window_ids(
    session: Session, run_id: int, observed_from: datetime | None, observed_to: datetime | None
) -> tuple[int, int] | None:
    """The first and last row id that can hold a finding of the run observed in [observed_from, observed_to)
    (either end open when None); first > last when none can. None when the run has no ranges (its findings were
    stored without `record_ranges`): then nothing narrows the listing."""
    overlaps = and_(
        FindingRange.observed_max >= observed_from if observed_from is not None else true(),
        FindingRange.observed_min < observed_to if observed_to is not None else true(),
    )
    count, first, last = session.execute(
        select(
            func.count(),
            func.min(case((overlaps, FindingRange.first_id))),
            func.max(case((overlaps, FindingRange.last_id))),
        ).where(FindingRange.run_id == run_id)
    ).one()
    if not count:
        return None
    return (1, 0) if first is None else (int(first), int(last))
