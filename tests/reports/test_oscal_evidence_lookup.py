"""Evidence reached by payload hash (a packet's payloads, the OSCAL export's failing evidence): the rows in scope,
through the hash index.

Without statistics SQLite preferred the run index for `run_id IN (...) AND sha256 IN (...)` and read the whole run
once per 500 hashes (a million-item packet spent 40 s there, issue 18). The plan is asserted, not a timing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.dialects import sqlite

from evidence.db import make_engine
from evidence.store import EvidenceStore
from reports.export import payloads_query
from reports.oscal.evidence import EvidenceSource
from tests.reports.conftest import Built


@pytest.fixture
def store(built: Built) -> EvidenceStore:
    return EvidenceStore(make_engine(f"sqlite:///{Path(built.directory) / 'store.db'}"))


def _run_ids(store: EvidenceStore) -> list[int]:
    run = store.latest_run()
    assert run is not None
    return [run.id]


@pytest.mark.parametrize("accounts", [None, ["111111111111"]])
@pytest.mark.parametrize("times_kept", [1, 4096])  # each stored time converted once, the memo full after one
def test_rows_with_finds_exactly_the_rows_in_scope_with_those_hashes(
    store: EvidenceStore, accounts: list[str] | None, times_kept: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("reports.oscal.memo._LIMIT", times_kept)
    everything = list(EvidenceSource(store, _run_ids(store)).rows())
    hashes = sorted({row.sha256 for row in everything})[::3]
    source = EvidenceSource(store, _run_ids(store), accounts)
    expected = [
        row for row in everything if row.sha256 in set(hashes) and (accounts is None or row.account_id in accounts)
    ]
    assert expected  # the scenario estate has rows of both accounts
    assert source.rows_with(hashes) == expected
    assert EvidenceSource(store, [_run_ids(store)[0] + 1000], accounts).rows_with(hashes) == []


@pytest.mark.parametrize("accounts", [None, ["111111111111", "222222222222"]])
def test_the_lookup_uses_the_hash_index_not_a_scan_of_the_run(store: EvidenceStore, accounts: list[str] | None) -> None:
    plan = _plan(store, EvidenceSource(store, _run_ids(store), accounts).with_hashes(["a" * 64, "b" * 64]))
    assert "USING INDEX ix_evidence_sha256 (sha256=?)" in plan, plan


def _plan(store: EvidenceStore, query: object) -> str:
    compiled = query.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})  # type: ignore[attr-defined]
    with store.engine.connect() as connection:
        return " | ".join(str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))


@pytest.mark.parametrize("accounts", [None, ["111111111111"]])
def test_the_packet_payloads_walk_the_blobs_in_hash_order_probing_the_hash_index(
    store: EvidenceStore, accounts: list[str] | None
) -> None:
    query = payloads_query(_run_ids(store), accounts)
    plan = _plan(store, query)
    # no sort of every item's hash (a temporary B-tree) before the blobs are read
    assert "SCAN blobs USING INDEX sqlite_autoindex_blobs_1" in plan and "TEMP B-TREE" not in plan, plan
    assert "USING INDEX ix_evidence_sha256 (sha256=?)" in plan, plan
    with store.engine.connect() as connection:
        found = [sha256 for sha256, _data in connection.execute(query)]
    everything = EvidenceSource(store, _run_ids(store), accounts).rows()
    assert found == sorted({row.sha256 for row in everything})
