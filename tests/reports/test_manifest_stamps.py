"""Manifest entries format `observed_at` from what the database returns, the same text as `rfc3339` of the datetime."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone

import pytest

from core.canonical import rfc3339
from evidence.store import EvidenceStore
from reports.export import stored_rfc3339, write_manifest_entries
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
