"""A run's evidence and findings, streamed in resource order: (account, region, resource, kind or check).

Both runs of a diff are read this way and merged as they stream (`evidence.diff.merge`), so neither is ever held in
memory. The merge compares keys in Python, whose string order is code point order; the database must return them
in that order too. SQLite's default (BINARY) collation does; PostgreSQL does when the database's collation is C or
C.UTF-8 (byte order), and otherwise is asked to order with `COLLATE "C"` (then it sorts a run instead of walking
`ix_evidence_run_resource`: slower, still right). The merge also checks the order it receives and refuses to go on
if a key goes backwards, rather than diffing wrongly.
"""

from __future__ import annotations

import weakref
from collections.abc import Collection, Iterator
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Engine, select, text, tuple_
from sqlalchemy.sql.elements import ColumnElement

from evidence.findings_model import FindingRow
from evidence.models import Evidence

ResourceKey = tuple[str, str, str]  # (account id, region, resource id)
_BYTE_ORDER_COLLATIONS = frozenset({"C", "POSIX", "C.UTF-8", "C.utf8", "ucs_basic"})
_byte_ordered: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()


# The rows the streams yield are plain tuples (the database's rows, not objects: a run is millions of them):
#   evidence: (account_id, region, resource_id, kind, sha256, resource_type)
#   findings: (account_id, region, resource_id, check_id, status, reason, resource_type)
EvidenceTuple = tuple[str, str, str, str, str, str]
FindingTuple = tuple[str, str, str, str, str, str, str]
resource_of = itemgetter(0, 1, 2)


def byte_ordered(engine: Engine) -> bool:
    """Whether the database's default collation orders text as Python does (by code point)."""
    if engine.dialect.name != "postgresql":
        return True  # SQLite: BINARY, memcmp over UTF-8, which is code point order
    known = _byte_ordered.get(engine)
    if known is None:
        with engine.connect() as connection:
            collation = connection.execute(
                text("SELECT datcollate FROM pg_database WHERE datname = current_database()")
            ).scalar()
            provider = connection.execute(
                text(
                    "SELECT CASE WHEN EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = "
                    "'pg_database' AND column_name = 'datlocprovider') THEN 'check' ELSE 'c' END"
                )
            ).scalar()
            if provider == "check":
                provider = connection.execute(
                    text("SELECT datlocprovider FROM pg_database WHERE datname = current_database()")
                ).scalar()
        known = str(collation) in _BYTE_ORDER_COLLATIONS and str(provider) == "c"
        _byte_ordered[engine] = known
    return known


def _ordered(engine: Engine, *columns: Any) -> list[ColumnElement[Any]]:
    if byte_ordered(engine):
        return list(columns)
    return [column.collate("C") for column in columns]


def evidence_keys(
    connection: Connection,
    run_id: int,
    *,
    after: ResourceKey | None = None,
    accounts: Collection[str] | None = None,
    batch_size: int = 5000,
) -> Iterator[EvidenceTuple]:
    """A run's evidence rows in resource order (resources after `after` only), without their payloads."""
    engine = connection.engine
    account, region, resource, kind = _ordered(
        engine, Evidence.account_id, Evidence.region, Evidence.resource_id, Evidence.kind
    )
    query = select(
        Evidence.account_id,
        Evidence.region,
        Evidence.resource_id,
        Evidence.kind,
        Evidence.sha256,
        Evidence.resource_type,
    ).where(Evidence.run_id == run_id)
    if after is not None:
        query = query.where(tuple_(account, region, resource) > tuple_(*after))
    if accounts is not None:
        query = query.where(Evidence.account_id.in_(sorted(accounts)))
    query = query.order_by(account, region, resource, kind, Evidence.sha256)
    yield from connection.execution_options(yield_per=batch_size).execute(query)  # type: ignore[misc]


def finding_keys(
    connection: Connection,
    run_id: int,
    *,
    after: ResourceKey | None = None,
    accounts: Collection[str] | None = None,
    check_ids: Collection[str] | None = None,
    batch_size: int = 5000,
) -> Iterator[FindingTuple]:
    """A run's stored findings in resource order (resources after `after` only)."""
    engine = connection.engine
    account, region, resource, check = _ordered(
        engine, FindingRow.account_id, FindingRow.region, FindingRow.resource_id, FindingRow.check_id
    )
    query = select(
        FindingRow.account_id,
        FindingRow.region,
        FindingRow.resource_id,
        FindingRow.check_id,
        FindingRow.status,
        FindingRow.reason,
        FindingRow.resource_type,
    ).where(FindingRow.run_id == run_id)
    if after is not None:
        query = query.where(tuple_(account, region, resource) > tuple_(*after))
    if accounts is not None:
        query = query.where(FindingRow.account_id.in_(sorted(accounts)))
    if check_ids is not None:
        query = query.where(FindingRow.check_id.in_(sorted(check_ids)))
    query = query.order_by(account, region, resource, check, FindingRow.id)
    yield from connection.execution_options(yield_per=batch_size).execute(query)  # type: ignore[misc]


def places(connection: Connection, run_id: int) -> frozenset[tuple[str, str]]:
    """The (account, region) pairs a run holds evidence for."""
    query = select(Evidence.account_id, Evidence.region).where(Evidence.run_id == run_id).distinct()
    return frozenset((str(a), str(r)) for a, r in connection.execute(query))
