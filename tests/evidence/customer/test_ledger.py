"""The customer ledger's hash functions, pinned from outside.

Sealing and verifying call the same functions, so dropping a field from what is hashed changes both sides and no
round-trip test sees it. These known answers (unsaved rows with fixed fields, the canonical JSON written out here
literally: sorted keys, no whitespace, UTF-8; and the pinned SHA-256) fail instead: a ledger written by an earlier
version would no longer verify, and a field left out of the hash could be changed without `verify --store` noticing.
Changing a hashed format on purpose means a new domain string (`auditpack-customer-ledger-v2`) and new pins.

Rows record the canonical version they were hashed in; versions 1 and 2 (RFC 8785) write these fields alike, so
the pins hold in both, and version 2 is also checked against `rfc8785.dumps`.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import rfc8785
from sqlalchemy import Engine, select, text

from core.canonical import JCS, VERSIONS, CanonicalVersionError
from evidence.customer import service
from evidence.customer.ledger import entry_digest, event_record_hash, exception_record_hash, item_record_hash, seal
from evidence.customer.models import Item, LedgerEntry, ReviewEventRow, RiskExceptionRow
from evidence.customer.verify import verify_customer
from evidence.db import session_factory
from tests.evidence.customer.conftest import ALICE, POLICY, T0

ITEM: dict[str, Any] = {
    "id": 7,
    "kind": "document",
    "title": "Zugriffsrichtlinie für Büros",  # non-ASCII: hashed as UTF-8, not \u escapes
    "controls": ["hipaa:164.308(a)(1)(ii)(A)", "soc2:CC6.1"],
    "owner": "CISO",
    "submitted_by": "alice",
    "submitted_at": datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
    "valid_from": datetime(2026, 3, 1, 0, 0, tzinfo=UTC),
    "valid_until": datetime(2027, 3, 1, 0, 0, tzinfo=UTC),
    "content_sha256": "ab" * 32,
    "media_type": "application/pdf",
    "size": 1234,
    "filename": "access-control.pdf",
    "supersedes": 3,
    "statement_by": "Jane Roe, CISO",
    "record_url": "https://grc.example.com/r/1",
    "import_path": "policies/access-control.pdf",
}
ITEM_CANONICAL = (
    '{"content_sha256":"' + "ab" * 32 + '","controls":["hipaa:164.308(a)(1)(ii)(A)","soc2:CC6.1"],'
    '"filename":"access-control.pdf","id":7,"import_path":"policies/access-control.pdf","kind":"document",'
    '"media_type":"application/pdf","owner":"CISO","record_url":"https://grc.example.com/r/1","size":1234,'
    '"statement_by":"Jane Roe, CISO","submitted_at":"2026-03-01T09:00:00Z","submitted_by":"alice",'
    '"supersedes":3,"title":"Zugriffsrichtlinie für Büros","type":"customer_item",'
    '"valid_from":"2026-03-01T00:00:00Z","valid_until":"2027-03-01T00:00:00Z"}'
).encode()
ITEM_HASH = "ec85c97b894a15dce62275a92551962d29a88f20478d1186af2eadfdb339ed1b"

EXCEPTION: dict[str, Any] = {
    "id": 4,
    "check_id": "iam.root_mfa_enabled",
    "control": "soc2:CC6.1",
    "resource_ids": ["arn:aws:iam::111122223333:root"],
    "account_id": "111122223333",
    "justification": "Root MFA device lost; replacement ordered.",
    "compensating": "Root credentials in a safe, break-glass procedure.",
    "requested_by": "alice",
    "requested_at": datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
    "expires_at": datetime(2026, 3, 31, 9, 0, tzinfo=UTC),
}
EXCEPTION_CANONICAL = (
    b'{"account_id":"111122223333","check_id":"iam.root_mfa_enabled",'
    b'"compensating":"Root credentials in a safe, break-glass procedure.","control":"soc2:CC6.1",'
    b'"expires_at":"2026-03-31T09:00:00Z","id":4,"justification":"Root MFA device lost; replacement ordered.",'
    b'"requested_at":"2026-03-01T09:00:00Z","requested_by":"alice",'
    b'"resource_ids":["arn:aws:iam::111122223333:root"],"type":"customer_exception"}'
)
EXCEPTION_HASH = "bf93929938bce1449b6b448524301231f3b0085466f04c135788d171ce8832d0"

EVENT: dict[str, Any] = {
    "id": 12,
    "item_id": 7,
    "exception_id": 4,  # never both in the store; set here so that each is seen to be hashed
    "state": "rejected",
    "actor": "bob",
    "at": datetime(2026, 3, 1, 10, 30, tzinfo=UTC),
    "reason": "outdated",
}
EVENT_CANONICAL = (
    b'{"actor":"bob","at":"2026-03-01T10:30:00Z","exception_id":4,"id":12,"item_id":7,"reason":"outdated",'
    b'"state":"rejected","type":"customer_event"}'
)
EVENT_HASH = "ebb9f8b6731dcb4d366f462ab26a35baa666a837272b69623d27faa0956ad9de"

ENTRY: dict[str, Any] = {
    "seq": 12,
    "entry_type": "item",
    "entry_id": 7,
    "record_sha256": "ab" * 32,
    "previous_digest": "cd" * 32,
}
ENTRY_CANONICAL = (
    b"auditpack-customer-ledger-v1\n"
    b'{"entry_id":7,"entry_type":"item","previous_digest":"' + b"cd" * 32 + b'","record_sha256":"' + b"ab" * 32 + b'",'
    b'"seq":12}'
)
ENTRY_DIGEST = "c92c7fc25fbe771d30401cccdfc6970ead35198d1cd538cb9284597f642713e1"
FIRST_ENTRY_CANONICAL = (
    b"auditpack-customer-ledger-v1\n"
    b'{"entry_id":7,"entry_type":"item","previous_digest":null,"record_sha256":"' + b"ab" * 32 + b'","seq":1}'
)
FIRST_ENTRY_DIGEST = "9139c7fc47fa7c7426b87683c1fd92f63e850ac6965c8a5f1b79f24db79f4c92"


def _other(value: Any) -> Any:
    """A different value of the same kind, for 'change one field' tests."""
    if isinstance(value, datetime):
        return value + timedelta(seconds=1)
    if isinstance(value, int):
        return value + 1
    if isinstance(value, list):
        return [*value, "extra"]
    return f"{value}-changed"


def _columns(model: type) -> set[str]:
    # canonical_version is not hashed: it says how the hash was computed.
    return {column.key for column in model.__table__.columns} - {"record_sha256", "canonical_version"}


@pytest.mark.parametrize(
    ("model", "fields"), [(Item, ITEM), (RiskExceptionRow, EXCEPTION), (ReviewEventRow, EVENT)], ids=str
)
def test_the_known_answers_set_every_column(model: type, fields: dict[str, Any]) -> None:
    assert set(fields) == _columns(model)  # a new column must be hashed and pinned here too


@pytest.mark.parametrize("version", VERSIONS)
def test_item_record_hash_known_answer(version: int) -> None:
    assert hashlib.sha256(ITEM_CANONICAL).hexdigest() == ITEM_HASH
    assert item_record_hash(Item(**ITEM, canonical_version=version)) == ITEM_HASH


@pytest.mark.parametrize("version", VERSIONS)
def test_exception_record_hash_known_answer(version: int) -> None:
    assert hashlib.sha256(EXCEPTION_CANONICAL).hexdigest() == EXCEPTION_HASH
    assert exception_record_hash(RiskExceptionRow(**EXCEPTION, canonical_version=version)) == EXCEPTION_HASH


@pytest.mark.parametrize("version", VERSIONS)
def test_event_record_hash_known_answer(version: int) -> None:
    assert hashlib.sha256(EVENT_CANONICAL).hexdigest() == EVENT_HASH
    assert event_record_hash(ReviewEventRow(**EVENT, canonical_version=version)) == EVENT_HASH


@pytest.mark.parametrize("version", VERSIONS)
def test_entry_digest_known_answers(version: int) -> None:
    assert hashlib.sha256(ENTRY_CANONICAL).hexdigest() == ENTRY_DIGEST
    assert entry_digest(**ENTRY, canonical_version=version) == ENTRY_DIGEST
    assert hashlib.sha256(FIRST_ENTRY_CANONICAL).hexdigest() == FIRST_ENTRY_DIGEST
    assert entry_digest(**{**ENTRY, "seq": 1, "previous_digest": None}, canonical_version=version) == FIRST_ENTRY_DIGEST


def test_version_2_hashes_are_sha256_of_rfc8785_dumps() -> None:
    as_text = {
        name: value.strftime("%Y-%m-%dT%H:%M:%SZ") for name, value in ITEM.items() if isinstance(value, datetime)
    }
    fields = {**ITEM, **as_text, "type": "customer_item"}
    assert rfc8785.dumps(fields) == ITEM_CANONICAL
    assert item_record_hash(Item(**ITEM, canonical_version=JCS)) == hashlib.sha256(rfc8785.dumps(fields)).hexdigest()
    domain = b"auditpack-customer-ledger-v1\n"
    expected = hashlib.sha256(domain + rfc8785.dumps(ENTRY)).hexdigest()
    assert entry_digest(**ENTRY, canonical_version=JCS) == expected


def test_a_row_without_a_version_has_no_hash() -> None:
    """A row is hashed in the version it records (`seal` sets it); one without is refused, not hashed as today's."""
    with pytest.raises(CanonicalVersionError, match="canonical version None is unknown"):
        item_record_hash(Item(**ITEM))


@pytest.mark.parametrize("name", sorted(ITEM))
def test_changing_any_item_field_changes_its_record_hash(name: str) -> None:
    assert item_record_hash(Item(**{**ITEM, name: _other(ITEM[name])}, canonical_version=JCS)) != ITEM_HASH


@pytest.mark.parametrize("name", sorted(name for name in ITEM if Item.__table__.columns[name].nullable))
def test_an_unset_optional_item_field_is_hashed_too(name: str) -> None:
    assert item_record_hash(Item(**{**ITEM, name: None}, canonical_version=JCS)) != ITEM_HASH


@pytest.mark.parametrize("name", sorted(EXCEPTION))
def test_changing_any_exception_field_changes_its_record_hash(name: str) -> None:
    changed = RiskExceptionRow(**{**EXCEPTION, name: _other(EXCEPTION[name])}, canonical_version=JCS)
    assert exception_record_hash(changed) != EXCEPTION_HASH


@pytest.mark.parametrize("name", sorted(EVENT))
def test_changing_any_event_field_changes_its_record_hash(name: str) -> None:
    changed = ReviewEventRow(**{**EVENT, name: _other(EVENT[name])}, canonical_version=JCS)
    assert event_record_hash(changed) != EVENT_HASH


@pytest.mark.parametrize("name", sorted(ENTRY))
def test_changing_any_entry_field_changes_its_digest(name: str) -> None:
    assert entry_digest(**{**ENTRY, name: _other(ENTRY[name])}, canonical_version=JCS) != ENTRY_DIGEST


def test_a_first_entry_links_to_nothing_not_to_an_empty_digest() -> None:
    unset = entry_digest(**{**ENTRY, "previous_digest": None}, canonical_version=JCS)
    assert unset != entry_digest(**{**ENTRY, "previous_digest": ""}, canonical_version=JCS)


LEDGER_LOCK_KEY = 0x43555354  # "CUST": every auditpack writer, of any version, must take this same lock


def test_seal_holds_the_ledger_lock_until_its_transaction_ends(engine: Engine) -> None:
    """Two writers that both read the head would race for the same seq; the advisory lock makes the second wait."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers itself")
    take = text("SELECT pg_try_advisory_xact_lock(:key)")
    # Advisory locks are database-wide: other test sessions (and make test's other worker) on this database take the
    # same lock now and then, so the release is checked on the writer's own backend.
    held = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = :pid AND objid = :key AND granted")
    with session_factory(engine)() as session:
        entry = seal(session, RiskExceptionRow(**{**EXCEPTION, "id": None}))
        assert (entry.seq, entry.entry_id, entry.previous_digest) == (1, 1, None)
        writer = session.scalar(text("SELECT pg_backend_pid()"))
        with engine.connect() as other:
            assert other.scalar(take, {"key": LEDGER_LOCK_KEY}) is False
            assert other.scalar(held, {"pid": writer, "key": LEDGER_LOCK_KEY}) == 1
            other.rollback()
        session.rollback()
    with engine.connect() as other:
        assert other.scalar(held, {"pid": writer, "key": LEDGER_LOCK_KEY}) == 0


def test_concurrent_writers_do_not_fork_the_ledger(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers itself")

    def request(n: int) -> None:
        for i in range(4):
            service.request_exception(
                engine,
                policy=POLICY,
                actor=ALICE,
                check_id="iam.root_mfa_enabled",
                account_id="111122223333",
                justification=f"Writer {n}, request {i}: root MFA device lost, replacement ordered.",
                compensating="Root credentials in a safe, break-glass procedure.",
                expires_at=T0 + timedelta(days=30),
                now=T0,
            )

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(request, range(2)))
    with session_factory(engine)() as session:
        assert list(session.scalars(select(LedgerEntry.seq).order_by(LedgerEntry.seq))) == list(range(1, 17))
    result = verify_customer(engine)
    assert result.intact, result.problems
    assert (result.exceptions_checked, result.events_checked) == (8, 8)
