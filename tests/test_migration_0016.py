"""Migration 0016 on a database holding findings (both backends): it computes the finding ranges of what is
stored, block for block as save_findings does, so time-window listings of existing runs are exact and narrowed at
once; going back drops the table and leaves the findings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, insert, inspect, select, text

from evidence.finding_ranges import BLOCK
from evidence.findings import load_finding_rows
from evidence.findings_model import FindingRange, FindingRow
from evidence.store import EvidenceStore
from migrations.schema import alembic_config, upgrade_schema
from tests.conftest import BACKENDS
from tests.migration_db import scratch_database

T0 = datetime(2026, 1, 2, 3, 0, tzinfo=UTC)
RUN = (
    "INSERT INTO runs (id, trigger, requested_by, scope, started_at, status, evidence_count, gap_count, stats,"
    " worker) VALUES (:id, 'cli', 'tests', '{}', :at, 'complete', 0, 0, '{}', '')"
)


def _rows() -> list[dict[str, object]]:
    """Run 1: rows 1-2999, one observed a second in row order (a few without a time); run 2: rows 3000-3099.
    Only columns the findings table had at 0012; times through the model's column type, as auditpack stores them."""
    common = {"check_id": "s3.default_encryption", "status": "fail", "severity": "high", "account_id": "1" * 12}
    rows = []
    for row_id in range(1, 3100):
        observed = None if row_id % 500 == 0 else T0 + timedelta(seconds=row_id)
        rows.append(
            {
                **common,
                "id": row_id,
                "run_id": 1 if row_id < 3000 else 2,
                "region": "us-east-1",
                "resource_id": f"r{row_id}",
                "resource_type": "bucket",
                "reason": "why",
                "evidence": [],
                "observed_at": observed,
            }
        )
    return rows


@pytest.fixture(params=BACKENDS)
def at_0012(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with scratch_database(request.param, tmp_path, prefix="t_m16") as engine:
        upgrade_schema(engine, "0012")
        with engine.begin() as connection:
            for run_id in (1, 2):
                connection.execute(text(RUN), {"id": run_id, "at": T0})
            connection.execute(insert(FindingRow.__table__), _rows())
        yield engine


def test_0016_records_the_ranges_of_stored_findings_and_goes_back(at_0012: Engine) -> None:
    upgrade_schema(at_0012, "0016")
    expected: dict[tuple[int, int], list[dict[str, object]]] = {}
    for row in _rows():
        expected.setdefault((int(row["run_id"]), int(row["id"]) // BLOCK), []).append(row)  # type: ignore[call-overload]
    store = EvidenceStore(at_0012)
    with store.sessions() as session:
        stored = [
            (r.run_id, r.first_id, r.last_id, r.observed_min, r.observed_max)
            for r in session.scalars(select(FindingRange).order_by(FindingRange.run_id, FindingRange.first_id))
        ]
    assert stored == [
        (
            run_id,
            min(int(r["id"]) for r in rows),  # type: ignore[call-overload]
            max(int(r["id"]) for r in rows),  # type: ignore[call-overload]
            min(r["observed_at"] for r in rows if r["observed_at"]),  # type: ignore[type-var]
            max(r["observed_at"] for r in rows if r["observed_at"]),  # type: ignore[type-var]
        )
        for (run_id, _), rows in sorted(expected.items())
    ]
    # A window late in run 1 lists exactly its rows, starting in the block of its first one.
    start, end = T0 + timedelta(seconds=2500), T0 + timedelta(seconds=2510)
    listed = [row_id for row_id, _ in load_finding_rows(store, 1, observed_from=start, observed_to=end)]
    assert listed == [row_id for row_id in range(2500, 2510) if row_id % 500]

    command.downgrade(alembic_config(at_0012), "0012")
    assert "finding_ranges" not in inspect(at_0012).get_table_names()
    with at_0012.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM findings")).scalar() == 3099
