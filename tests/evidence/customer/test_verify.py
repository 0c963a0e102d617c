"""`verify --store` catches a changed, removed or inserted customer item, exception or state change, and a deleted
ledger tail against a recorded head, naming each precisely. The append-only triggers refuse all of it first."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import DBAPIError

from core.canonical import LEGACY
from core.errors import VerificationError
from evidence.customer import service
from evidence.customer.ledger import entry_digest, ledger_head
from evidence.customer.models import LedgerEntry, ReviewEventRow
from evidence.customer.verify import verify_customer
from evidence.db import session_factory
from evidence.expected_state import check_against_manifest
from evidence.verification import verify_store
from tests.evidence.customer.conftest import ALICE, BOB, POLICY, T0, submit
from tests.evidence.customer.test_risk_exceptions import WHY

TABLES = (
    "customer_contents",
    "customer_content_chunks",
    "customer_items",
    "customer_exceptions",
    "customer_events",
    "customer_ledger",
)


def _sql(engine: Engine, *statements: str) -> None:
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))


@pytest.fixture
def recorded(engine: Engine) -> Engine:
    """Two items (one approved), one approved exception: ledger entries 1-7."""
    first = submit(engine)
    service.approve(engine, item_id=first.id, actor=BOB, now=T0 + timedelta(hours=1))
    submit(engine, b"%PDF-1.7 second", title="Second")
    requested = service.request_exception(
        engine,
        policy=POLICY,
        actor=ALICE,
        check_id="iam.root_mfa_enabled",
        account_id="111122223333",
        justification=WHY,
        compensating="Root credentials in a safe, break-glass procedure.",
        expires_at=T0 + timedelta(days=30),
        now=T0,
    )
    service.approve_exception(engine, exception_id=requested.id, actor=BOB, now=T0 + timedelta(hours=1))
    return engine


@pytest.fixture
def unguarded(recorded: Engine) -> Iterator[Engine]:
    """What an attacker with owner rights on the database does first: switch the append-only triggers off."""
    if recorded.dialect.name == "postgresql":
        _sql(recorded, *(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only" for table in TABLES))
        yield recorded
        _sql(recorded, *(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only" for table in TABLES))
    else:
        _sql(recorded, *(f"DROP TRIGGER {table}_no_{op}" for table in TABLES for op in ("update", "delete")))
        yield recorded


def _entry(engine: Engine, seq: int) -> LedgerEntry:
    with session_factory(engine)() as session:
        entry = session.get(LedgerEntry, seq)
    assert entry is not None
    return entry


def _problems(engine: Engine, **kwargs: str) -> list[str]:
    result = verify_customer(engine, **kwargs)
    assert result.intact == (not result.problems)
    return [str(problem) for problem in result.problems]


def test_an_untouched_ledger_verifies_and_reports_its_head(recorded: Engine) -> None:
    result = verify_customer(recorded)
    assert result.intact, result.problems
    assert (result.items_checked, result.exceptions_checked, result.events_checked) == (2, 1, 5)
    assert result.entries_checked == 8 and result.head == ledger_head(recorded) and result.head.seq == 8


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE customer_items SET title = 'x' WHERE id = 1",
        "DELETE FROM customer_events WHERE id = 2",
        "UPDATE customer_ledger SET digest = 'x' WHERE seq = 3",
        "DELETE FROM customer_ledger WHERE seq = 8",
        "DELETE FROM customer_content_chunks",
        "UPDATE customer_contents SET media_type = 'text/plain'",
    ],
)
def test_the_database_refuses_to_change_or_delete_anything(recorded: Engine, statement: str) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        _sql(recorded, statement)
    assert verify_customer(recorded).intact


def test_a_changed_item_or_exception_is_named(unguarded: Engine) -> None:
    _sql(
        unguarded,
        "UPDATE customer_items SET valid_until = valid_until + interval '1 year' WHERE id = 1"
        if unguarded.dialect.name == "postgresql"
        else "UPDATE customer_items SET valid_until = '2099-01-01 00:00:00' WHERE id = 1",
        "UPDATE customer_exceptions SET account_id = '999999999999' WHERE id = 1",
    )
    problems = _problems(unguarded)
    assert any(p.startswith("customer item 1: fields were changed") for p in problems), problems
    assert any(p.startswith("customer exception 1: fields were changed") for p in problems), problems


def test_a_rewritten_state_change_is_caught_even_with_its_hash_recomputed(unguarded: Engine) -> None:
    # Turn the approval (event 2) into a rejection and recompute its record hash: the ledger still sealed the old one.
    from evidence.customer.ledger import event_record_hash
    from evidence.db import session_factory

    with session_factory(unguarded).begin() as session:
        event = session.get(ReviewEventRow, 2)
        assert event is not None and event.state == "approved"
        event.state, event.reason = "rejected", "forged"
        event.record_sha256 = event_record_hash(event)
    problems = _problems(unguarded)
    assert [p for p in problems if "ledger entry" in p] == [
        next(p for p in problems if p.startswith("ledger entry 3: sealed customer event 2 with record hash"))
    ]
    assert "the row was rewritten" in problems[0]


def test_a_deleted_state_change_or_item_is_named(unguarded: Engine) -> None:
    _sql(
        unguarded,
        "DELETE FROM customer_events WHERE id = 5",  # the exception's approval
        "DELETE FROM customer_events WHERE id = 3",  # the second item's submission ...
        "DELETE FROM customer_items WHERE id = 2",  # ... and the item
    )
    assert _problems(unguarded) == [
        "ledger entry 4: points at customer item 2, which no longer exists: it was deleted",
        "ledger entry 5: points at customer event 3, which no longer exists: it was deleted",
        "ledger entry 8: points at customer event 5, which no longer exists: it was deleted",
    ]


def test_an_inserted_state_change_without_a_ledger_entry_is_named(unguarded: Engine) -> None:
    _sql(
        unguarded,
        "INSERT INTO customer_events (id, item_id, state, actor, at, reason, record_sha256) "
        "VALUES (99, 2, 'approved', 'mallory', '2026-03-01 10:00:00', NULL, 'x')",
    )
    problems = _problems(unguarded)
    assert "customer event 99: has no ledger entry: it was inserted outside auditpack" in problems


def test_deleted_or_reordered_ledger_entries_break_the_links(unguarded: Engine) -> None:
    _sql(unguarded, "DELETE FROM customer_ledger WHERE seq = 4")
    problems = _problems(unguarded)
    assert "ledger entry 5: expected entry 4 here: entries were deleted or reordered" in problems
    assert any(p.startswith("ledger entry 5: links to") for p in problems)
    assert "customer item 2: has no ledger entry: it was inserted outside auditpack" in problems


def test_a_deleted_ledger_tail_is_only_caught_against_a_recorded_head(unguarded: Engine) -> None:
    head = ledger_head(unguarded)
    assert head is not None
    _sql(unguarded, "DELETE FROM customer_events WHERE id = 5", "DELETE FROM customer_ledger WHERE seq = 8")
    assert _problems(unguarded) == []  # consistent in itself: only a recorded head exposes it
    problems = _problems(unguarded, expected_head=head.digest)
    assert problems == [
        f"customer ledger: the recorded head {head.digest} is not in the ledger (head is now "
        f"{_entry(unguarded, 7).digest}): entries were deleted or rewritten since it was recorded"
    ]


def test_a_recorded_head_against_an_emptied_ledger_says_so(engine: Engine) -> None:
    assert _problems(engine) == []
    assert _problems(engine, expected_head="ab" * 32) == [
        f"customer ledger: the recorded head {'ab' * 32} is not in the ledger (head is now (empty)): entries were "
        "deleted or rewritten since it was recorded"
    ]


def test_altered_content_is_caught_by_verify_store(unguarded: Engine) -> None:
    _sql(unguarded, "UPDATE customer_content_chunks SET data = data || data WHERE seq = 0")
    result = verify_store(unguarded)
    assert not result.intact
    assert any("customer content" in str(p) and "it was altered" in str(p) for p in result.problems)
    with pytest.raises(VerificationError, match="was altered"):
        item = service.get_item(unguarded, 1)
        b"".join(service.iter_content(unguarded, item.content_sha256))


def test_a_packet_manifest_pins_the_ledger_head_it_saw(unguarded: Engine) -> None:
    head = ledger_head(unguarded)
    assert head is not None
    manifest = {"packet_id": "p-1", "store": {"customer_ledger_head": {"seq": head.seq, "digest": head.digest}}}
    assert check_against_manifest(manifest, [], unguarded) == []
    assert check_against_manifest({"packet_id": "p-0", "store": {"findings": {}}}, [], unguarded) == []  # older
    _sql(unguarded, "DELETE FROM customer_events WHERE id = 5", "DELETE FROM customer_ledger WHERE seq = 8")
    assert check_against_manifest(manifest, [], unguarded) == [
        f"the customer ledger head p-1 saw (entry 8, {head.digest}) is not in the ledger: customer evidence, "
        "exceptions or reviews were deleted or rewritten since"
    ]


def test_a_rewritten_newest_entry_digest_is_named(unguarded: Engine) -> None:
    # Entry 8 is the newest: nothing links to it, so its digest is the only thing that shows the rewrite.
    original, forged = _entry(unguarded, 8).digest, "0" * 64
    _sql(unguarded, f"UPDATE customer_ledger SET digest = '{forged}' WHERE seq = 8")
    result = verify_customer(unguarded)
    assert [str(p) for p in result.problems] == [
        f"ledger entry 8: digest {forged[:16]}… does not match {original[:16]}…"
    ]
    assert result.head is not None and result.head.digest == forged  # reported as stored, flagged above


def test_relinking_after_a_rewritten_digest_only_moves_the_mismatch(unguarded: Engine) -> None:
    original, forged = _entry(unguarded, 3).digest, "0" * 64
    _sql(
        unguarded,
        f"UPDATE customer_ledger SET digest = '{forged}' WHERE seq = 3",
        f"UPDATE customer_ledger SET previous_digest = '{forged}' WHERE seq = 4",
    )
    problems = _problems(unguarded)
    assert problems[0] == f"ledger entry 3: digest {forged[:16]}… does not match {original[:16]}…"
    assert len(problems) == 2 and problems[1].startswith("ledger entry 4: digest "), problems


@pytest.fixture
def without_unique_entries(unguarded: Engine) -> Iterator[Engine]:
    """An owner can also drop the constraint that lets each row have only one ledger entry."""
    if unguarded.dialect.name == "postgresql":
        _sql(unguarded, "ALTER TABLE customer_ledger DROP CONSTRAINT uq_customer_ledger_entry")
        yield unguarded
        _sql(  # the schema is shared by the session's PostgreSQL tests: put the constraint back
            unguarded,
            "DELETE FROM customer_ledger WHERE seq > 8",
            "ALTER TABLE customer_ledger ADD CONSTRAINT uq_customer_ledger_entry UNIQUE (entry_type, entry_id)",
        )
    else:  # SQLite cannot drop a table constraint: copy the table without it
        _sql(
            unguarded,
            "CREATE TABLE ledger_copy AS SELECT * FROM customer_ledger",
            "DROP TABLE customer_ledger",
            "ALTER TABLE ledger_copy RENAME TO customer_ledger",
        )
        yield unguarded


def test_an_entry_sealing_a_row_a_second_time_is_named(without_unique_entries: Engine) -> None:
    # A well-formed entry 9 (right seq, link and digest) for event 5, which entry 8 already sealed.
    engine = without_unique_entries
    head = _entry(engine, 8)
    assert (head.entry_type, head.entry_id) == ("event", 5)
    digest = entry_digest(
        seq=9,
        entry_type="event",
        entry_id=5,
        record_sha256=head.record_sha256,
        previous_digest=head.digest,
        canonical_version=LEGACY,
    )
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO customer_ledger (seq, entry_type, entry_id, record_sha256, previous_digest, digest, "
                "canonical_version) VALUES (9, 'event', 5, :record, :previous, :digest, :version)"
            ),
            {"record": head.record_sha256, "previous": head.digest, "digest": digest, "version": LEGACY},
        )
    assert _problems(engine) == ["ledger entry 9: seals customer event 5 a second time"]


def test_an_item_whose_content_is_gone_is_named(unguarded: Engine) -> None:
    """The foreign key forbids this, but SQLite enforces it only when asked to (a copy of the file, another tool)."""
    if unguarded.dialect.name != "sqlite":
        pytest.skip("PostgreSQL always enforces the foreign key")
    sha = service.get_item(unguarded, 2).content_sha256
    with unguarded.connect() as connection:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.execute(text("DELETE FROM customer_content_chunks WHERE sha256 = :sha"), {"sha": sha})
        connection.execute(text("DELETE FROM customer_contents WHERE sha256 = :sha"), {"sha": sha})
        connection.commit()
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
    assert _problems(unguarded) == [f"customer item 2: its content {sha} is missing"]


BIG = b"%PDF-1.7\n" + b"x" * (5 * 512 * 1024)  # three 1 MiB chunks, the last one partial


@pytest.fixture
def chunked(unguarded: Engine) -> tuple[Engine, str]:
    sha = submit(unguarded, BIG, title="Big").content_sha256
    with unguarded.connect() as connection:
        seqs = connection.scalars(text("SELECT seq FROM customer_content_chunks WHERE sha256 = :sha"), {"sha": sha})
        assert sorted(seqs) == [0, 1, 2]
    return unguarded, sha


def test_chunks_are_hashed_in_their_order_whatever_order_the_database_returns_them(chunked: tuple[Engine, str]) -> None:
    engine, sha = chunked
    if engine.dialect.name == "sqlite":  # SQLite's switch for finding queries that rely on an unspecified order
        engine.dispose()
        event.listen(engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA reverse_unordered_selects=ON"))
    else:  # rewrite the chunks in reverse: a table scan returns them in that order
        with engine.begin() as connection:
            rows = connection.execute(
                text("SELECT seq, data FROM customer_content_chunks WHERE sha256 = :sha"), {"sha": sha}
            ).all()
            connection.execute(text("DELETE FROM customer_content_chunks WHERE sha256 = :sha"), {"sha": sha})
            for seq, data in sorted(rows, reverse=True):
                connection.execute(
                    text("INSERT INTO customer_content_chunks (sha256, seq, data) VALUES (:sha, :seq, :data)"),
                    {"sha": sha, "seq": seq, "data": data},
                )
    assert _problems(engine) == []


def test_a_missing_chunk_is_named(chunked: tuple[Engine, str]) -> None:
    engine, sha = chunked
    _sql(engine, f"DELETE FROM customer_content_chunks WHERE sha256 = '{sha}' AND seq = 1")
    left = BIG[: 1024 * 1024] + BIG[2 * 1024 * 1024 :]
    assert _problems(engine) == [
        f"customer content {sha[:16]}…: holds chunks 0, 2, expected 0-2",
        f"customer content {sha[:16]}…: its {len(left):,} stored bytes hash to "
        f"{hashlib.sha256(left).hexdigest()[:16]}…: it was altered",
    ]


@pytest.mark.parametrize(
    ("extra", "listed"),
    [(1, "0, 1, 2, 3"), (7, "0, 1, 2, 3, 4, 5, 6, 7, 8, 9"), (8, "0, 1, 2, 3, 4, 5, 6, 7, 8, 9 …")],
)
def test_extra_empty_chunks_are_named_though_the_bytes_still_hash_right(
    chunked: tuple[Engine, str], extra: int, listed: str
) -> None:
    engine, sha = chunked
    with engine.begin() as connection:
        for seq in range(3, 3 + extra):
            connection.execute(
                text("INSERT INTO customer_content_chunks (sha256, seq, data) VALUES (:sha, :seq, :data)"),
                {"sha": sha, "seq": seq, "data": b""},
            )
    assert _problems(engine) == [f"customer content {sha[:16]}…: holds chunks {listed}, expected 0-2"]
