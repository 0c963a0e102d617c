"""The customer ledger: one append-only hash chain over customer items, exceptions and their review events.

Every item, exception and event row stores `record_sha256`, the SHA-256 of the canonical JSON (see
`core.canonical`) of *every* field of the row, its id and a `type` tag included (for items: the content's
sha256, media type and size too). Writing a row appends, in the same transaction, ledger entry number `seq`
(1, 2, 3 ... without holes) with

    digest = SHA-256( "auditpack-customer-ledger-v1\\n"
                      || canonical_json({"seq": seq, "entry_type": entry_type, "entry_id": entry_id,
                                         "record_sha256": record_sha256, "previous_digest": previous_digest}) )

where `previous_digest` is the digest of entry `seq - 1` (null for entry 1). `canonical_json` is `core.canonical`
in the version each row and entry records in `canonical_version` (a row and its entry are written together, in
the same version); verification recomputes in that version. Changing a field of any row breaks
its record hash; deleting or inserting a row leaves an entry without a row or a row without an entry; deleting,
reordering or rewriting an entry breaks the links after it. Only removing entries at the end leaves a consistent
but shorter ledger: a head recorded elsewhere (`verify --store --expected-ledger-head`, a packet manifest's
`customer_ledger_head`) exposes that.

Appends are serialised: a PostgreSQL advisory lock (SQLite serialises writers itself), and `seq` is the primary
key, so a racing writer fails and retries rather than forking the chain.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from core import canonical
from core.canonical import canonical_json, check_version, rfc3339, sha256_hex
from evidence.customer.models import Item, LedgerEntry, ReviewEventRow, RiskExceptionRow
from evidence.db import session_factory

LEDGER_DOMAIN = b"auditpack-customer-ledger-v1\n"
_LOCK_KEY = 0x43555354  # "CUST"


@dataclass(frozen=True, slots=True)
class LedgerHead:
    seq: int
    digest: str
    canonical_version: int  # of `digest`


def _version(row: Item | RiskExceptionRow | ReviewEventRow) -> int:
    """The version a row's record hash is (to be) computed in: set by `seal`, stored with the row."""
    return check_version(row.canonical_version)


def item_record_hash(row: Item) -> str:
    return sha256_hex(
        canonical_json(
            {
                "type": "customer_item",
                "id": row.id,
                "kind": row.kind,
                "title": row.title,
                "controls": list(row.controls),
                "owner": row.owner,
                "submitted_by": row.submitted_by,
                "submitted_at": rfc3339(row.submitted_at),
                "valid_from": rfc3339(row.valid_from),
                "valid_until": rfc3339(row.valid_until),
                "content_sha256": row.content_sha256,
                "media_type": row.media_type,
                "size": row.size,
                "filename": row.filename,
                "supersedes": row.supersedes,
                "statement_by": row.statement_by,
                "record_url": row.record_url,
                "import_path": row.import_path,
            },
            version=_version(row),
        )
    )


def exception_record_hash(row: RiskExceptionRow) -> str:
    return sha256_hex(
        canonical_json(
            {
                "type": "customer_exception",
                "id": row.id,
                "check_id": row.check_id,
                "control": row.control,
                "resource_ids": list(row.resource_ids),
                "account_id": row.account_id,
                "justification": row.justification,
                "compensating": row.compensating,
                "requested_by": row.requested_by,
                "requested_at": rfc3339(row.requested_at),
                "expires_at": rfc3339(row.expires_at),
            },
            version=_version(row),
        )
    )


def event_record_hash(row: ReviewEventRow) -> str:
    return sha256_hex(
        canonical_json(
            {
                "type": "customer_event",
                "id": row.id,
                "item_id": row.item_id,
                "exception_id": row.exception_id,
                "state": row.state,
                "actor": row.actor,
                "at": rfc3339(row.at),
                "reason": row.reason,
            },
            version=_version(row),
        )
    )


def entry_digest(
    *,
    seq: int,
    entry_type: str,
    entry_id: int,
    record_sha256: str,
    previous_digest: str | None,
    canonical_version: int,
) -> str:
    body: dict[str, Any] = {
        "seq": seq,
        "entry_type": entry_type,
        "entry_id": entry_id,
        "record_sha256": record_sha256,
        "previous_digest": previous_digest,
    }
    return hashlib.sha256(LEDGER_DOMAIN + canonical_json(body, version=check_version(canonical_version))).hexdigest()


ENTRY_TYPES: dict[type, tuple[str, Any]] = {
    Item: ("item", item_record_hash),
    RiskExceptionRow: ("exception", exception_record_hash),
    ReviewEventRow: ("event", event_record_hash),
}


def seal(session: Session, row: Item | RiskExceptionRow | ReviewEventRow) -> LedgerEntry:
    """Give `row` its id and record hash, write it and append its ledger entry, in the caller's transaction."""
    model = type(row)
    entry_type, record_hash = ENTRY_TYPES[model]
    lock(session)
    # Rows are never updated, so the id the record hash covers is chosen here, under the lock (a racing SQLite
    # writer collides on the primary key and retries).
    row.id = (session.scalar(select(func.max(model.id))) or 0) + 1
    row.canonical_version = version = canonical.CURRENT_VERSION
    row.record_sha256 = record_hash(row)
    head = head_of(session)
    seq = head.seq + 1 if head else 1
    previous = head.digest if head else None
    entry = LedgerEntry(
        seq=seq,
        entry_type=entry_type,
        entry_id=row.id,
        record_sha256=row.record_sha256,
        previous_digest=previous,
        digest=entry_digest(
            seq=seq,
            entry_type=entry_type,
            entry_id=row.id,
            record_sha256=row.record_sha256,
            previous_digest=previous,
            canonical_version=version,
        ),
        canonical_version=version,
    )
    session.add_all([row, entry])
    session.flush()
    return entry


def lock(session: Session) -> None:
    """Serialise ledger writers until the transaction ends (PostgreSQL; SQLite serialises writers itself)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


def head_of(session: Session) -> LedgerHead | None:
    """The newest ledger entry: record its digest to prove later that nothing was removed from the end."""
    newest = select(LedgerEntry.seq, LedgerEntry.digest, LedgerEntry.canonical_version)
    row = session.execute(newest.order_by(LedgerEntry.seq.desc()).limit(1)).first()
    return LedgerHead(row.seq, row.digest, row.canonical_version) if row else None


def ledger_head(engine: Engine) -> LedgerHead | None:
    with session_factory(engine)() as session:
        return head_of(session)
