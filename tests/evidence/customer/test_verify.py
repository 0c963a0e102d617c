"""`verify --store` catches a changed, removed or inserted customer item, exception or state change, and a deleted
ledger tail against a recorded head, naming each precisely. The append-only triggers refuse all of it first."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from evidence.customer import service
from evidence.customer.ledger import ledger_head
from evidence.customer.verify import verify_customer
from evidence.errors import VerificationError
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
    from evidence.customer.models import ReviewEventRow
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
    assert len(problems) == 1 and problems[0].startswith(f"customer ledger: the recorded head {head.digest} is not")


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
