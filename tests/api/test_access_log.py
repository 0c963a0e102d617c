"""The access log is append-only and hash-chained; any edit, deletion or reordering is found and located."""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import rfc8785
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from api.services import access_log
from api.services.access_log import AccessEvent
from core import canonical
from core.canonical import JCS, LEGACY


def _event(index: int, **changes: object) -> AccessEvent:
    base = {
        "at": datetime(2026, 11, 27, 10, 0, tzinfo=UTC) + timedelta(seconds=index),
        "principal": "auditor token 3 (Acme LLP)",
        "token_id": 3,
        "role": "auditor",
        "action": "download.pdf",
        "method": "GET",
        "path": "/v1/packets/p/pdf",
        "packet_id": "6f1c1f3e-8b1e-4a55-9d43-0d6f3c1a2b3c",
        "status_code": 200,
        "client": "203.0.113.9",
        "bytes_sent": 1000 + index,
        "sha256": f"{index:064x}",
    }
    base.update(changes)
    return AccessEvent(**base)  # type: ignore[arg-type]


@pytest.fixture
def chained(engine: Engine) -> Engine:
    for index in range(5):
        access_log.append(engine, _event(index))
    return engine


def _raw(engine: Engine, sql: str) -> None:
    with engine.begin() as connection:
        connection.execute(text(sql))


@pytest.fixture
def unguarded(chained: Engine) -> Iterator[Engine]:
    """What an attacker with database access does first: switch off the append-only triggers."""
    if chained.dialect.name == "postgresql":
        _raw(chained, "ALTER TABLE api_access_log DISABLE TRIGGER api_access_log_no_update")
        yield chained
        # The PostgreSQL schema lives for the whole test session: put the guard back.
        _raw(chained, "ALTER TABLE api_access_log ENABLE TRIGGER api_access_log_no_update")
    else:  # each SQLite test has its own database file
        _raw(chained, "DROP TRIGGER api_access_log_no_update")
        _raw(chained, "DROP TRIGGER api_access_log_no_delete")
        yield chained


def test_entries_link_to_their_predecessor(chained: Engine) -> None:
    records = list(access_log.iter_records(chained))
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    assert records[0]["previous_sha256"] is None
    assert all(b["previous_sha256"] == a["entry_sha256"] for a, b in itertools.pairwise(records))
    result = access_log.verify_database(chained)
    assert result.intact and result.checked == 5 and result.head == records[-1]["entry_sha256"]


def test_the_database_refuses_to_change_or_delete_entries(chained: Engine) -> None:
    for sql in ("UPDATE api_access_log SET bytes_sent = 1 WHERE seq = 2", "DELETE FROM api_access_log WHERE seq = 2"):
        with pytest.raises(DBAPIError, match="append-only"):
            _raw(chained, sql)
    assert access_log.verify_database(chained).intact


def test_an_edited_entry_is_found(unguarded: Engine) -> None:
    chained = unguarded
    _raw(chained, "UPDATE api_access_log SET client = '10.0.0.1' WHERE seq = 3")
    result = access_log.verify_database(chained)
    assert not result.intact
    assert [p.seq for p in result.problems] == [3]
    assert "fields were changed" in str(result.problems[0])


def test_an_edit_that_recomputes_its_own_hash_still_breaks_the_next_link(unguarded: Engine) -> None:
    chained = unguarded
    records = list(access_log.iter_records(chained))
    forged = {**records[1], "bytes_sent": 1}
    new_hash = access_log.entry_hash(forged)
    _raw(chained, f"UPDATE api_access_log SET bytes_sent = 1, entry_sha256 = '{new_hash}' WHERE seq = 2")
    result = access_log.verify_database(chained)
    assert [p.seq for p in result.problems] == [3]
    assert "links to" in str(result.problems[0])


def test_a_deleted_entry_is_found(unguarded: Engine) -> None:
    chained = unguarded
    _raw(chained, "DELETE FROM api_access_log WHERE seq = 2")
    result = access_log.verify_database(chained)
    assert not result.intact
    assert result.problems[0].seq == 3 and "expected 2" in str(result.problems[0])


def test_truncating_the_tail_is_found_against_a_recorded_head(unguarded: Engine) -> None:
    chained = unguarded
    head = access_log.verify_database(chained).head
    _raw(chained, "DELETE FROM api_access_log WHERE seq = 5")
    assert access_log.verify_database(chained).intact  # without an anchor the shorter chain is consistent
    result = access_log.verify_database(chained, expected_head=head)
    assert not result.intact and "entries were removed" in str(result.problems[-1])


@pytest.mark.parametrize("form", ["ndjson", "csv"])
def test_exports_verify_offline_and_reveal_edits(chained: Engine, form: str) -> None:
    access_log.append(chained, _event(9, token_id=None, role=None, packet_id=None, sha256=None, client=None))
    records = list(access_log.iter_records(chained))
    lines = access_log.csv_lines(records) if form == "csv" else access_log.ndjson_lines(records)
    exported = "".join(lines)
    result = access_log.verify_entries(access_log.parse_export(io.StringIO(exported), form=form))
    assert result.intact and result.checked == 6 and result.head == records[-1]["entry_sha256"]

    tampered = exported.replace("203.0.113.9", "198.51.100.7", 1)
    result = access_log.verify_entries(access_log.parse_export(io.StringIO(tampered), form=form))
    assert [p.seq for p in result.problems] == [1]


@pytest.fixture
def versioned(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """Entries 1-2 appended before RFC 8785 (canonical version 1), entries 3-4 after it (version 2)."""
    for index in range(4):
        monkeypatch.setattr(canonical, "CURRENT_VERSION", LEGACY if index < 2 else JCS)
        access_log.append(engine, _event(index))
    return engine


def test_entries_record_their_canonical_version_and_old_ones_still_verify(versioned: Engine) -> None:
    records = list(access_log.iter_records(versioned))
    assert [r["canonical_version"] for r in records] == [LEGACY, LEGACY, JCS, JCS]
    assert access_log.verify_database(versioned).intact
    body = {name: records[2][name] for name in access_log.FIELDS}
    expected = hashlib.sha256(b"auditpack-access-log-v1\n" + rfc8785.dumps(body)).hexdigest()
    assert records[2]["entry_sha256"] == expected  # version 2: RFC 8785, recomputable by any JCS implementation


@pytest.mark.parametrize("form", ["ndjson", "csv"])
def test_exports_carry_the_version_and_reveal_edits_in_either_version(versioned: Engine, form: str) -> None:
    records = list(access_log.iter_records(versioned))
    for seq in (2, 4):  # one entry of each version
        edited = [{**r, "bytes_sent": 0} if r["seq"] == seq else r for r in records]
        lines = access_log.csv_lines(edited) if form == "csv" else access_log.ndjson_lines(edited)
        result = access_log.verify_entries(access_log.parse_export(io.StringIO("".join(lines)), form=form))
        assert str(result.problems[0]).startswith(f"entry {seq}: fields were changed"), result.problems


def test_a_csv_export_from_before_versions_verifies_as_version_1(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(canonical, "CURRENT_VERSION", LEGACY)
    for index in range(3):
        access_log.append(engine, _event(index))
    columns = [name for name in access_log.EXPORT_FIELDS if name != "canonical_version"]
    old = io.StringIO()
    writer = csv.DictWriter(old, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows({k: "" if v is None else v for k, v in r.items()} for r in access_log.iter_records(engine))
    records = list(access_log.parse_export(io.StringIO(old.getvalue()), form="csv"))
    assert all("canonical_version" not in r for r in records)
    assert access_log.verify_entries(records).intact


def test_an_unknown_version_in_an_export_is_reported(versioned: Engine) -> None:
    records = [{**r, "canonical_version": 7} if r["seq"] == 3 else r for r in access_log.iter_records(versioned)]
    result = access_log.verify_entries(records)
    assert [str(p) for p in result.problems] == [
        "entry 3: its hash cannot be recomputed: canonical version 7 is unknown to this auditpack (it knows 1 and 2)"
    ]


def test_concurrent_appends_keep_one_unbroken_chain(engine: Engine) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: access_log.append(engine, _event(i)), range(40)))
    result = access_log.verify_database(engine)
    assert result.intact and result.checked == 40


def test_export_and_verify_commands(chained: Engine, cli_env, run_cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "log.ndjson"
    exported = run_cli("access-log", "export", "--out", str(target))
    assert exported.code == 0, exported
    assert [json.loads(line)["seq"] for line in target.read_text().splitlines()] == [1, 2, 3, 4, 5]
    assert run_cli("access-log", "verify", str(target)).code == 0
    lines = target.read_text().splitlines()
    record = json.loads(lines[1])
    record["bytes_sent"] = 0
    lines[1] = json.dumps(record)
    target.write_text("\n".join(lines) + "\n")
    failed = run_cli("access-log", "verify", str(target), "--format", "json")
    assert failed.code == 1
    report = json.loads(failed.stdout)
    assert report["intact"] is False and report["problems"][0].startswith("entry 2: fields were changed")
    assert run_cli("access-log", "verify").code == 0  # the database itself is intact
