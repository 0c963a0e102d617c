"""Reading every row of a packet's scope (manifest entries, OSCAL observations, resources, payloads, the
inventory's groupings) by the span of ids it covers: the same rows as the indexed scope, whatever other runs'
rows lie in the span, and the indexed plan kept when the span is mostly other runs' rows.

Issue 18: through the run's indexes SQLite looked a million rows up at random and sorted them for `ORDER BY id`;
read as a span of the table they come in key order. Plans are asserted, not timings.
"""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from sqlalchemy import select, update
from sqlalchemy.dialects import sqlite

from evidence.models import Blob, Evidence
from evidence.store import EvidenceStore
from reports.errors import PacketBuildError
from reports.export import in_scope, payloads_query, read_rows, scan_scope, scope_span, write_payloads
from reports.inventory import collect_inventory
from reports.oscal.evidence import EvidenceSource, ResourceRow

ACCOUNTS = ("111111111111", "222222222222")


def _record(store: EvidenceStore, items: int, tag: str) -> int:
    run = store.start_run(trigger="cli", requested_by="tests", scope={})
    with store.recorder(run.id) as recorder:
        for index in range(items):
            _add(recorder, index, tag)
    store.finish_run(run.id)
    return run.id


def _add(recorder: object, index: int, tag: str) -> None:
    recorder.add(  # type: ignore[attr-defined]
        account_id=ACCOUNTS[index % 2],
        region="us-east-1",
        service="s3",
        resource_type="bucket",
        resource_id=f"arn:aws:s3:::{tag}-{index}",
        kind="s3.bucket",
        payload={"tag": tag, "n": index},
        owner=None if index % 3 == 0 else "data",
    )


def _interleaved(store: EvidenceStore, items: int) -> tuple[int, int]:
    """Two runs recorded at once, their rows written one at a time, alternately: each run's span holds the
    other's rows."""
    first = store.start_run(trigger="cli", requested_by="tests", scope={})
    second = store.start_run(trigger="cli", requested_by="tests", scope={})
    with store.recorder(first.id, batch_size=1) as one, store.recorder(second.id, batch_size=1) as two:
        for index in range(items):
            _add(one, index, "first")
            _add(two, index, "second")
    return first.id, second.id


def _ids(store: EvidenceStore, clause: object) -> list[int]:
    with store.engine.connect() as connection:
        return list(connection.scalars(select(Evidence.id).where(clause).order_by(Evidence.id)))  # type: ignore[arg-type]


def _scanned(store: EvidenceStore, run_ids: list[int], accounts: list[str] | None = None) -> list[int]:
    with store.engine.connect() as connection:
        clause = scan_scope(connection, run_ids, accounts)
        return list(connection.scalars(select(Evidence.id).where(clause).order_by(Evidence.id)))


def _plan(store: EvidenceStore, run_ids: list[int], accounts: list[str] | None = None) -> str:
    with store.engine.connect() as connection:
        query = select(Evidence.id).where(scan_scope(connection, run_ids, accounts)).order_by(Evidence.id)
        compiled = query.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
        return " | ".join(str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))


def _sqlite_only(store: EvidenceStore) -> None:
    if store.engine.dialect.name != "sqlite":
        pytest.skip("a SQLite query plan")


def test_two_runs_recorded_at_once_each_read_only_their_own_rows(store: EvidenceStore) -> None:
    first, second = _interleaved(store, 12)
    for run_id in (first, second):
        expected = _ids(store, in_scope([run_id]))
        assert len(expected) == 12
        assert _scanned(store, [run_id]) == expected
        assert _scanned(store, [run_id], [ACCOUNTS[1]]) == _ids(store, in_scope([run_id], [ACCOUNTS[1]]))
        assert len(_scanned(store, [run_id], [ACCOUNTS[1]])) == 6


def test_a_run_is_read_as_a_span_of_the_table_in_key_order(store: EvidenceStore) -> None:
    _sqlite_only(store)
    _record(store, 5, "before")
    run_id = _record(store, 20, "run")
    _record(store, 5, "after")
    plan = _plan(store, [run_id])
    assert "USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)" in plan and "TEMP B-TREE" not in plan, plan
    assert _scanned(store, [run_id]) == _ids(store, in_scope([run_id]))


def test_runs_far_apart_keep_the_indexed_plan_and_the_same_rows(store: EvidenceStore) -> None:
    first = _record(store, 4, "first")
    _record(store, 30, "between")  # most of the span of [first, last]
    last = _record(store, 4, "last")
    assert _scanned(store, [first, last]) == _ids(store, in_scope([first, last]))
    assert len(_scanned(store, [first, last])) == 8
    if store.engine.dialect.name == "sqlite":
        assert "rowid>?" not in _plan(store, [first, last])


def test_an_empty_scope_reads_nothing(store: EvidenceStore) -> None:
    run_id = _record(store, 3, "run")
    assert _scanned(store, [run_id + 99]) == []
    assert _scanned(store, [run_id], ["999999999999"]) == []


def test_the_packet_readers_see_only_the_run_among_interleaved_ones(store: EvidenceStore) -> None:
    first, _second = _interleaved(store, 9)
    source = EvidenceSource(store, [first])
    assert [row.resource_id for row in source.rows()] == [f"arn:aws:s3:::first-{i}" for i in range(9)]
    assert sorted(ResourceRow(*resource).resource_id for resource in source.resources()) == sorted(
        f"arn:aws:s3:::first-{i}" for i in range(9)
    )
    assert sum(items for _sha, _version, items in source.payloads()) == 9
    inventory = collect_inventory(store, [first])
    assert inventory.unowned_count == 3  # indexes 0, 3 and 6
    assert sum(owners for w in inventory.workloads for _owner, owners in w.owners) == 6


def _payload_lines(store: EvidenceStore, run_ids: list[int]) -> list[bytes]:
    out = io.BytesIO()
    write_payloads(store, run_ids, out)  # type: ignore[arg-type]
    return out.getvalue().splitlines()


def _payloads_of(store: EvidenceStore, run_ids: list[int]) -> list[bytes]:
    with store.engine.connect() as connection:
        hashes = sorted(set(connection.scalars(select(Evidence.sha256).where(in_scope(run_ids)))))
    return [store.payload_bytes(sha256) for sha256 in hashes]


def test_a_run_recorded_alone_is_exactly_its_span_and_its_payloads_are_found_through_the_hash_index(
    store: EvidenceStore,
) -> None:
    _record(store, 5, "before")
    run_id = _record(store, 12, "run")
    _record(store, 5, "after")
    with store.engine.connect() as connection:
        span = scope_span(connection, [run_id])
        assert span is not None and span.exact and span.count == 12
        assert scope_span(connection, [run_id], [ACCOUNTS[0]]) == (span.low, span.high - 1, 6)  # every other row
        assert not scope_span(connection, [run_id], [ACCOUNTS[0]]).exact  # type: ignore[union-attr]
    assert _payload_lines(store, [run_id]) == _payloads_of(store, [run_id])
    if store.engine.dialect.name == "sqlite":
        plan = _plan_of(store, payloads_query([run_id], None, span))
        assert "COVERING INDEX ix_evidence_sha256" in plan, plan


def test_interleaved_runs_are_not_exact_and_write_only_their_own_payloads(store: EvidenceStore) -> None:
    first, second = _interleaved(store, 7)
    with store.engine.connect() as connection:
        span = scope_span(connection, [first])
        assert span is not None and not span.exact
    for run_id in (first, second):
        lines = _payload_lines(store, [run_id])
        assert len(lines) == 7 and lines == _payloads_of(store, [run_id])


def _plan_of(store: EvidenceStore, query: object) -> str:
    compiled = query.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})  # type: ignore[attr-defined]
    with store.engine.connect() as connection:
        return " | ".join(str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))


@pytest.mark.parametrize("batch", [4, 6, 5000])  # 12 payloads: batches that end mid-way, exactly, or never
def test_payloads_are_written_a_batch_at_a_time_each_once(
    store: EvidenceStore, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    run_id = _record(store, 12, "run")
    monkeypatch.setattr("reports.export.BATCH", batch)
    out = io.BytesIO()
    assert write_payloads(store, [run_id], out) == 12  # type: ignore[arg-type]
    assert out.getvalue().endswith(b"}\n") and out.getvalue().splitlines() == _payloads_of(store, [run_id])


def test_long_reads_give_the_rows_sqlalchemy_gives(store: EvidenceStore) -> None:
    """`read_rows`: on SQLite straight from the cursor when nothing needs converting, through SQLAlchemy when a
    column does (a stored time is still a datetime); the same rows either way, on both backends."""
    first, second = _interleaved(store, 6)
    scope = Evidence.run_id.in_([first, second])
    plain = select(Evidence.id, Evidence.resource_id, Evidence.owner).where(scope).order_by(Evidence.id)
    timed = select(Evidence.id, Evidence.observed_at).where(scope).order_by(Evidence.id)
    with store.engine.connect() as connection:
        rows = list(read_rows(connection, plain))
        assert len(rows) == 12
        assert [tuple(row) for row in rows] == [tuple(row) for row in connection.execute(plain)]
        times = list(read_rows(connection, timed))
        assert [tuple(row) for row in times] == [tuple(row) for row in connection.execute(timed)]
        assert all(isinstance(observed, datetime) and observed.tzinfo is not None for _id, observed in times)


def test_a_damaged_blob_stops_the_payloads_with_its_hash_and_what_to_run(store: EvidenceStore) -> None:
    run_id = _record(store, 3, "run")
    with store.engine.begin() as connection:
        sha256 = connection.scalar(select(Blob.sha256).order_by(Blob.sha256).limit(1))
        connection.execute(update(Blob).where(Blob.sha256 == sha256).values(data=b"x\x9cnot deflate data"))
    with pytest.raises(PacketBuildError, match=rf"stored payload {sha256} cannot be decompressed .*verify --store"):
        write_payloads(store, [run_id], io.BytesIO())  # type: ignore[arg-type]
