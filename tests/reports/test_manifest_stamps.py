"""Manifest entries format `observed_at` from what the database returns, the same text as `rfc3339` of the datetime."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone

import pytest

from core.canonical import rfc3339
from evidence.store import EvidenceStore
from reports.export import _sqlite_writes_json_as_orjson, stored_rfc3339, write_manifest_entries
from reports.manifest import FOOTER, header_bytes, read_manifest

MOMENTS = [
    datetime(2026, 11, 20, 2, 0, tzinfo=UTC),
    datetime(2026, 11, 20, 1, 59, 59, 999000, tzinfo=UTC),
    datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
    datetime(2026, 6, 30, 23, 0, 0, 500000, tzinfo=timezone(timedelta(hours=2))),  # stored as UTC
]


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("2026-11-20 02:00:00.000000", "2026-11-20T02:00:00Z"),
        ("2026-11-20 01:59:59.999000", "2026-11-20T01:59:59.999000Z"),
        ("2026-11-20 01:59:59", "2026-11-20T01:59:59Z"),  # not the stored form: parsed
        ("2026-11-20T01:59:59.5+00:00", "2026-11-20T01:59:59.500000Z"),
        (datetime(2026, 11, 20, 2, 0, 0, 1, tzinfo=UTC), "2026-11-20T02:00:00.000001Z"),
    ],
)
def test_stored_text_and_datetimes_become_rfc3339(stored: str | datetime, expected: str) -> None:
    assert stored_rfc3339(stored) == expected


def test_text_that_is_no_time_is_refused() -> None:
    with pytest.raises(ValueError):
        stored_rfc3339("2026-11-2x 02:00:00.000000")


def test_entries_carry_each_items_time_as_rfc3339_on_either_backend(store: EvidenceStore) -> None:
    run = store.start_run(trigger="cli", requested_by="tests", scope={})
    with store.recorder(run.id) as recorder:
        for index, moment in enumerate(MOMENTS):
            recorder.add(
                account_id="111111111111",
                region="us-east-1",
                service="s3",
                resource_type="bucket",
                resource_id=f"arn:aws:s3:::b{index}",
                kind="s3.bucket",
                payload={"n": index},
                observed_at=moment,
            )
    store.finish_run(run.id)
    out = io.BytesIO()
    out.write(header_bytes({}))
    write_manifest_entries(store, [run.id], out)
    out.write(FOOTER)
    out.seek(0)
    _header, entries = read_manifest(out)
    assert [entry["observed_at"] for entry in entries] == [rfc3339(moment) for moment in MOMENTS]


ODD = [
    "plain",
    'quo"te',
    "back\\slash",
    "".join(map(chr, range(1, 32))),  # PostgreSQL refuses NUL in text
    "\u2028\u2029\x7f",
    "bücket-😀",
    "</script>",
]


def _odd_run(store: EvidenceStore) -> int:
    run = store.start_run(trigger="cli", requested_by="tests", scope={})
    with store.recorder(run.id) as recorder:
        for index in range(23):
            text = ODD[index % len(ODD)]
            recorder.add(
                account_id="111111111111",
                region=("us-east-1", text)[index % 2],
                service="s3",
                resource_type=text,
                resource_id=f"arn:aws:s3:::{text}{index}",
                kind=("s3.bucket", text)[index % 3 == 0],
                payload={"n": index},
                observed_at=MOMENTS[index % len(MOMENTS)] + timedelta(microseconds=index),
                owner=(None, text, "team-a")[index % 3],
            )
    store.finish_run(run.id)
    return run.id


def _entries(store: EvidenceStore, run_id: int) -> bytes:
    out = io.BytesIO()
    write_manifest_entries(store, [run_id], out)
    return out.getvalue()


@pytest.mark.parametrize("batch", [5000, 4])  # 4: many partitions, joined across their ends
def test_sqlite_writes_the_entries_python_writes(
    store: EvidenceStore, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    """On SQLite the database writes each entry (json_object); the bytes are those of `entry_bytes`, which is what
    PostgreSQL's path writes, whatever the strings hold."""
    if store.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's entries are written in Python")
    with store.engine.connect() as connection:  # else every packet takes the Python path (and this test is moot)
        assert _sqlite_writes_json_as_orjson(connection)
    run_id = _odd_run(store)
    monkeypatch.setattr("reports.export.BATCH", batch)
    by_database = _entries(store, run_id)
    monkeypatch.setattr("reports.export._sqlite_writes_json_as_orjson", lambda connection: False)
    by_python = _entries(store, run_id)
    assert by_database == by_python
    out = io.BytesIO(header_bytes({}) + by_database + FOOTER)
    _header, entries = read_manifest(out)
    assert len(list(entries)) == 23


def test_a_time_not_in_sqlites_stored_form_is_written_from_python(store: EvidenceStore) -> None:
    if store.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's stored text")
    run_id = _odd_run(store)
    before = _entries(store, run_id)
    with store.engine.begin() as connection:  # another writer's spelling of the same moment
        connection.exec_driver_sql(
            "UPDATE evidence SET observed_at = '2026-11-20T02:00:00+00:00' WHERE id = (SELECT min(id) FROM evidence)"
        )
    after = _entries(store, run_id)
    assert after.replace(b"2026-11-20T02:00:00Z", b"", 1) != after  # the time is still there, as RFC 3339
    assert after == before
