"""The stored evidence an OSCAL export covers, read as streams (SQL over `evidence.models`, like the manifest).

`runs` are the runs whose evidence items become observations: today the run a status rests on (the packet's
manifest lists the same items). A packet that evaluates every capture of a period (issue 20) passes every
capture's run: each evidence row is its own observation (uuid from the row id), so nothing else changes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Connection, Select, String, func, select, type_coerce

from core.database import stored_utc
from evidence.models import Evidence
from evidence.store import EvidenceStore
from reports.export import BATCH, in_scope, in_scope_by_hash, read_rows, scan_scope
from reports.oscal.memo import Cached

_LOOKUP_CHUNK = 500  # hashes per IN (...) query: well under every backend's parameter limit


class EvidenceRow(NamedTuple):
    """An evidence item as an export names it. A tuple: the million-row streams unpack database rows in this
    column order, and building a dataclass per row cost more than the rest of reading it (issue 18)."""

    id: int
    run_id: int
    account_id: str
    region: str
    service: str
    resource_type: str
    resource_id: str
    kind: str
    observed_at: datetime
    owner: str | None
    sha256: str
    canonical_version: int


class ResourceRow(NamedTuple):
    """One resource (account, region, resource id) with the service and type its evidence names (a tuple, like
    EvidenceRow)."""

    account_id: str
    region: str
    resource_id: str
    service: str
    resource_type: str
    owner: str | None


_ROW_COLUMNS = (  # EvidenceRow's fields, in its order
    Evidence.id,
    Evidence.run_id,
    Evidence.account_id,
    Evidence.region,
    Evidence.service,
    Evidence.resource_type,
    Evidence.resource_id,
    Evidence.kind,
    Evidence.observed_at,
    Evidence.owner,
    Evidence.sha256,
    Evidence.canonical_version,
)


# observed_at as the database returns it (SQLite: text, PostgreSQL: an aware datetime), for the reads that convert
# it themselves (each stored time once, or straight to text), not per row through the column type
_STORED_TIME_COLUMNS = tuple(type_coerce(c, String) if c is Evidence.observed_at else c for c in _ROW_COLUMNS)
_OBSERVED_AT = EvidenceRow._fields.index("observed_at")  # where those rows hold the stored time


@dataclass(frozen=True, slots=True)
class EvidenceSource:
    store: EvidenceStore
    run_ids: Sequence[int]
    accounts: Sequence[str] | None = None

    def _scope(self):  # type: ignore[no-untyped-def]
        return in_scope(self.run_ids, self.accounts)

    def _scan(self, connection: Connection) -> ColumnElement[bool]:
        return scan_scope(connection, self.run_ids, self.accounts)

    def rows(self) -> Iterator[EvidenceRow]:
        """Every evidence item in scope, in recording order."""
        with self.store.engine.connect() as connection:  # Core rows: no ORM handling per streamed row
            query = select(*_ROW_COLUMNS).where(self._scan(connection)).order_by(Evidence.id)
            for row in connection.execute(query.execution_options(yield_per=BATCH)):
                yield EvidenceRow(*row)

    def stream(self) -> Iterator[tuple[Any, ...]]:
        """`rows()` as the database returns them, for the assessment results' observations: tuples in EvidenceRow's
        order (`read_rows`: no dataclass or Row per row) with `observed_at` as stored (SQLite: its text, naive UTC;
        PostgreSQL: an aware datetime), which `encoded.observations` turns into text without a datetime. At a
        million items, parsing each stored time and building an EvidenceRow was 3 of the 4.8 s of CPU reading the
        rows took (issue 18)."""
        with self.store.engine.connect() as connection:
            query = select(*_STORED_TIME_COLUMNS).where(self._scan(connection)).order_by(Evidence.id)
            yield from read_rows(connection, query)

    def with_hashes(self, hashes: Sequence[str]) -> Select[Any]:
        """The query for the evidence items in scope whose payload is one of `hashes` (EvidenceRow's columns,
        `observed_at` as stored), through the hash index (`in_scope_by_hash`): with the run's index, a lookup of
        100,000 hashes, 500 at a time, read a million-item run 200 times (40 s of a million-item packet's OSCAL
        stage, issue 18)."""
        return select(*_STORED_TIME_COLUMNS).where(
            Evidence.sha256.in_(hashes), in_scope_by_hash(self.run_ids, self.accounts)
        )

    def rows_with(self, hashes: Collection[str]) -> list[EvidenceRow]:
        """The evidence items in scope whose payload is one of `hashes` (the evidence of failing findings). Each
        stored time converted once, the rows fetched a query at a time: ~100,000 rows through the column type and
        one by one were 1.2 s of a million-item packet's `prepare`, now 0.9 (issue 18)."""
        wanted = sorted(set(hashes))
        found: list[EvidenceRow] = []
        times: Cached[Any, datetime] = Cached(stored_utc)  # many items share a stored time
        at = _OBSERVED_AT
        with self.store.engine.connect() as connection:
            for start in range(0, len(wanted), _LOOKUP_CHUNK):
                query = self.with_hashes(wanted[start : start + _LOOKUP_CHUNK])
                for row in connection.execute(query).all():
                    found.append(EvidenceRow(*row[:at], times[row[at]], *row[at + 1 :]))
        found.sort(key=lambda row: row.id)
        return found

    def resources(self) -> Iterator[tuple[str, str, str, str, str, str | None]]:
        """Each resource once, ordered by account, region and id: tuples in ResourceRow's order (`read_rows`: a
        dataclass per row cost a second at a million resources, and a Row a third of one)."""
        query = (
            select(
                Evidence.account_id,
                Evidence.region,
                Evidence.resource_id,
                func.min(Evidence.service).label("service"),
                func.min(Evidence.resource_type).label("resource_type"),
                func.min(Evidence.owner).label("owner"),
            )
            .group_by(Evidence.account_id, Evidence.region, Evidence.resource_id)
            .order_by(Evidence.account_id, Evidence.region, Evidence.resource_id)
        )
        with self.store.engine.connect() as connection:
            yield from read_rows(connection, query.where(self._scan(connection)))

    def payloads(self) -> Iterator[tuple[str, int, int]]:
        """Each payload once: (sha256, canonical version, evidence items resting on it), ordered by hash."""
        query = (
            select(Evidence.sha256, func.min(Evidence.canonical_version), func.count())
            .group_by(Evidence.sha256)
            .order_by(Evidence.sha256)
        )
        with self.store.engine.connect() as connection:
            for sha256, version, count in read_rows(connection, query.where(self._scan(connection))):
                yield sha256, int(version), int(count)

    def accounts_and_regions(self) -> tuple[list[str], list[str]]:
        query = select(Evidence.account_id, Evidence.region).where(self._scope()).distinct()
        with self.store.sessions() as session:
            pairs = list(session.execute(query))
        return sorted({a for a, _ in pairs}), sorted({r for _, r in pairs})
