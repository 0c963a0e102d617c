"""Time-window listings of findings start where the run's finding ranges say a match can be, and still return
exactly the findings observed in the window, in row order, page by page: whatever the order of observation times,
after a re-evaluation, and for runs stored without ranges. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select

from evidence import finding_ranges
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import Finding, FindingStatus
from evidence.finding_ranges import window_ids
from evidence.findings import load_finding_rows, save_findings
from evidence.findings_model import FindingRange
from evidence.store import EvidenceStore
from tests.evidence.helpers import record_run

T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
WINDOWS = [
    (T0 + timedelta(seconds=250), T0 + timedelta(seconds=280)),  # late in the run
    (T0 + timedelta(seconds=16), T0 + timedelta(seconds=17)),  # one second, on a block edge
    (None, T0 + timedelta(seconds=5)),
    (T0 + timedelta(seconds=295), None),
    (T0 - timedelta(days=1), T0),  # before everything: nothing
    (T0 + timedelta(seconds=10_000), None),  # after everything: nothing
    (T0 + timedelta(seconds=40), T0 + timedelta(seconds=40)),  # empty window
]


def _findings(count: int, *, out_of_order: bool = True) -> list[Finding]:
    """One a second in row order; with `out_of_order`, every 37th is observed late (a re-read), every 50th has no
    observation time."""
    found = []
    for index in range(count):
        seconds = 299 - index % 7 if out_of_order and index % 37 == 0 else index
        found.append(
            Finding(
                check_id="s3.default_encryption",
                status=FindingStatus.FAIL if index % 3 else FindingStatus.PASS,
                account_id="111111111111",
                region="us-east-1",
                resource_id=f"arn:aws:s3:::bucket-{index}",
                reason="because",
                evidence=("a" * 64,),
                observed_at=None if out_of_order and index % 50 == 49 else T0 + timedelta(seconds=seconds),
                owner=None,
                resource_type="bucket",
            )
        )
    return found


def _page_through(store: EvidenceStore, run_id: int, start: datetime | None, end: datetime | None) -> list[int]:
    ids: list[int] = []
    while True:
        page = load_finding_rows(
            store, run_id, observed_from=start, observed_to=end, limit=7, after_id=ids[-1] if ids else None
        )
        ids += [row_id for row_id, _ in page]
        if len(page) < 7:
            return ids


def _expected(store: EvidenceStore, run_id: int, start: datetime | None, end: datetime | None) -> list[int]:
    """The same listing worked out from every row of the run."""
    return [
        row_id
        for row_id, finding in load_finding_rows(store, run_id)
        if finding.observed_at is not None
        and (start is None or finding.observed_at >= start)
        and (end is None or finding.observed_at < end)
    ]


def test_window_listings_return_exactly_the_findings_observed_in_the_window(
    store: EvidenceStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(finding_ranges, "BLOCK", 16)  # a few hundred findings make many blocks
    older, run = record_run(store, [{"x": 1}]), record_run(store, [{"x": 2}])
    save_findings(store, older.id, _findings(40), thresholds=Thresholds())
    save_findings(store, run.id, _findings(500), thresholds=Thresholds())
    save_findings(store, run.id, _findings(300), thresholds=Thresholds())  # re-evaluated: its ranges replaced
    with store.sessions() as session:  # windows opening at a block's last observation or closing at its first
        edges = session.execute(
            select(FindingRange.observed_min, FindingRange.observed_max).where(FindingRange.run_id == run.id)
        ).all()
    tick = timedelta(microseconds=1)
    at_edges = [(high, high + tick) for _, high in edges[1:4]] + [(low - tick, low + tick) for low, _ in edges[1:4]]
    for start, end in WINDOWS + at_edges:
        expected = _expected(store, run.id, start, end)
        assert _page_through(store, run.id, start, end) == expected, (start, end)
    assert _expected(store, run.id, *WINDOWS[0]) != []  # the windows do hold findings
    with store.sessions() as session:
        assert session.scalar(select(func.max(FindingRange.last_id)).where(FindingRange.run_id == run.id)) == max(
            row_id for row_id, _ in load_finding_rows(store, run.id)
        )


def test_a_late_window_starts_at_the_block_of_its_first_match_not_at_the_runs_first_row(
    store: EvidenceStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(finding_ranges, "BLOCK", 16)
    run = record_run(store, [{"x": 1}])
    save_findings(store, run.id, _findings(300, out_of_order=False), thresholds=Thresholds())
    ids = [row_id for row_id, _ in load_finding_rows(store, run.id)]
    start, end = WINDOWS[0]
    matches = _expected(store, run.id, start, end)
    with store.sessions() as session:
        bounds = window_ids(session, run.id, start, end)
        assert window_ids(session, run.id, T0 - timedelta(days=1), T0) == (1, 0)  # no block can match
    assert bounds is not None and len(matches) == 30
    first, last = bounds
    assert ids[0] < first <= matches[0] < first + 16  # the 250 rows before the window are not read
    assert ids[-1] > last >= matches[-1] > last - 16


def test_a_run_stored_without_ranges_is_listed_in_full(store: EvidenceStore) -> None:
    run = record_run(store, [{"x": 1}])
    save_findings(store, run.id, _findings(120), thresholds=Thresholds())
    with store.sessions.begin() as session:
        session.execute(delete(FindingRange).where(FindingRange.run_id == run.id))
        assert window_ids(session, run.id, *WINDOWS[0]) is None
    start, end = WINDOWS[1]
    assert _page_through(store, run.id, start, end) == _expected(store, run.id, start, end) != []
