"""Streams stored evidence and findings out of the store into the packet's export files.

Reads go straight to the evidence tables (read-only SQL over `evidence.models`) rather than through
`EvidenceStore.iter_evidence`, because a packet needs the canonical bytes (the blob, decompressed) and not the
decoded payload: parsing and re-serialising a million payloads would cost more than the rest of the packet. The
database also de-duplicates payloads shared by several evidence items, so no set of hashes is kept in memory.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from itertools import islice
from typing import Any, NamedTuple, Protocol

import orjson
from isal import isal_zlib
from sqlalchemy import ColumnElement, Connection, Select, String, and_, case, func, literal, select, type_coerce

from core.canonical import rfc3339
from core.database import stored_utc
from evidence.checks.types import Finding
from evidence.models import Blob, Evidence
from evidence.store import EvidenceStore
from reports.errors import PacketBuildError
from reports.manifest import EVIDENCE_FIELDS, FOOTER, entry_bytes, header_bytes
from reports.streams import ExportWriter

BATCH = 5000
FINDINGS_COLUMNS = (
    "check_id",
    "status",
    "controls",
    "account_id",
    "region",
    "resource_type",
    "resource_id",
    "owner",
    "observed_at",
    "evidence_sha256",
    "reason",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# SQLite's stored text of a DateTime column (naive UTC), as a query that bypasses the column type returns it
SQLITE_STAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}", re.ASCII).fullmatch


def in_scope(run_ids: Sequence[int], accounts: Sequence[str] | None = None) -> ColumnElement[bool]:
    """Evidence rows of the packet: the runs it rests on, limited to its accounts when it has an account scope."""
    clause = Evidence.run_id.in_(run_ids)
    return and_(clause, Evidence.account_id.in_(accounts)) if accounts else clause


class Span(NamedTuple):
    """The ids a scope's rows lie between, and how many rows it has."""

    low: int
    high: int
    count: int

    @property
    def exact(self) -> bool:
        """Every row in the span is in the scope (a run recorded while no other was): `id BETWEEN low AND high` is
        the scope itself, and an index holding the id answers it without reading the row."""
        return self.high - self.low + 1 == self.count

    def clause(self) -> ColumnElement[bool]:
        return Evidence.id.between(self.low, self.high)


def scope_span(connection: Connection, run_ids: Sequence[int], accounts: Sequence[str] | None = None) -> Span | None:
    """The span of the scope's rows, None when it has none (from the covering run indexes: ~0.1 s for a million
    items). Worked out per query, never kept: a scope read later may hold more rows."""
    low, high, count = connection.execute(
        select(func.min(Evidence.id), func.max(Evidence.id), func.count()).where(in_scope(run_ids, accounts))
    ).one()
    return Span(low, high, count) if count else None


def scan_scope(
    connection: Connection, run_ids: Sequence[int], accounts: Sequence[str] | None = None
) -> ColumnElement[bool]:
    """`in_scope` for reading every row of the scope (in id order or to group it): the ids the scope spans, read in
    key order, when they are mostly the scope's own. Through the run's indexes SQLite looked each row up at random
    and sorted or grouped it in a temporary tree; a span of the table is read in order (a million-item run: 2.7 s ->
    1.7 s for its rows in id order, 4.2 s -> 3.0 s for its resources, issue 18). A span mostly of other runs' rows
    (a period packet over runs far apart) keeps the indexed plan. The scope's own filter stays unless the span is
    exactly the scope."""
    scope = in_scope(run_ids, accounts)
    span = scope_span(connection, run_ids, accounts)
    if span is None or span.high - span.low + 1 > 2 * span.count:
        return scope
    if span.exact:
        return span.clause()
    # `+ 0` and `|| ''`: no index serves these, so the planner reads the span by key instead of through them
    clause = and_(span.clause(), (Evidence.run_id + 0).in_(run_ids))
    return and_(clause, (Evidence.account_id + "").in_(accounts)) if accounts else clause


def read_rows(connection: Connection, query: Select[Any]) -> Iterator[Any]:
    """The rows of a long read (a million at a packet's scale), streamed. On SQLite they come from its own cursor,
    the query compiled by SQLAlchemy, as plain tuples: a Row made per row cost ~0.3 us, about a second per
    packet (issue 18). Only when no column or parameter needs SQLAlchemy's conversion (a stored time read as a
    datetime, say); otherwise, and on other databases (PostgreSQL streams from a server-side cursor), through
    SQLAlchemy, `BATCH` rows at a time."""
    dialect = connection.dialect
    if dialect.name == "sqlite":
        compiled = query.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        converted = any(
            column.type.result_processor(dialect, None) is not None for column in query.selected_columns
        ) or any(bind.type.bind_processor(dialect) is not None for bind in compiled.binds.values())
        if not converted and compiled.positional:
            cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute(str(compiled), [compiled.params[name] for name in compiled.positiontup or ()])
                while rows := cursor.fetchmany(BATCH):
                    yield from rows
            finally:
                cursor.close()
            return
    yield from connection.execute(query.execution_options(yield_per=BATCH))


def in_scope_by_hash(run_ids: Sequence[int], accounts: Sequence[str] | None = None) -> ColumnElement[bool]:
    """`in_scope` for rows reached through their payload hash: written as `run_id + 0` and `account_id || ''`, which
    no index serves, so the planner looks rows up in `ix_evidence_sha256` instead of scanning the whole run through
    a run or account index (SQLite without statistics prefers those, issue 18)."""
    clause = (Evidence.run_id + 0).in_(run_ids)
    return and_(clause, (Evidence.account_id + "").in_(accounts)) if accounts else clause


def write_payloads(
    store: EvidenceStore, run_ids: Sequence[int], out: ExportWriter, *, accounts: Sequence[str] | None = None
) -> int:
    """Every distinct payload of the runs, one canonical JSON document per line, sorted by sha256."""
    count = 0
    with store.engine.connect() as connection:  # Core rows: the ORM's per-row handling is not needed to stream
        span = scope_span(connection, run_ids, accounts)
        rows = read_rows(connection, payloads_query(run_ids, accounts, span))
        lines: list[bytes] = []
        for sha256, payload in _payloads(store, rows):
            if b"\n" in payload:  # canonical JSON escapes control characters; a raw newline means a corrupt blob
                raise PacketBuildError(
                    f"stored payload {sha256} contains a raw newline; run `auditpack verify --store`"
                )
            lines.append(payload)
            if len(lines) >= BATCH:  # one write per batch: two per payload cost ~0.5 s per million
                count += _write_lines(out, lines)
        count += _write_lines(out, lines)
    return count


def _write_lines(out: ExportWriter, lines: list[bytes]) -> int:
    """Each of `lines` and a line end, in one write; empties the list; returns how many there were."""
    written = len(lines)
    if lines:
        out.write(b"\n".join(lines) + b"\n")
        lines.clear()
    return written


def payloads_query(
    run_ids: Sequence[int], accounts: Sequence[str] | None = None, span: Span | None = None
) -> Select[tuple[str, bytes]]:
    """The distinct payloads of the scope, by hash: the blobs walked in key order, each kept when an evidence item
    in scope names it. The `IN (SELECT ...)` form this replaces sorted every item's hash first and then looked each
    blob up (SQLite: 7.6 s for a million items, 4.6 s of it in the kernel, against 3.3 s). `span`: the scope's
    span (`scope_span`); when it is exactly the scope, the hash index answers for each blob without reading an
    evidence row (a million random reads of the table: 6.4 -> 3.4 s of CPU, most of it system time)."""
    scope = span.clause() if span is not None and span.exact else in_scope_by_hash(run_ids, accounts)
    used = select(Evidence.id).where(Evidence.sha256 == Blob.sha256, scope).exists()  # the id: in every index
    return select(Blob.sha256, Blob.data).where(used).order_by(Blob.sha256)


def _payloads(store: EvidenceStore, rows: Iterator[Any]) -> Iterator[tuple[str, bytes]]:
    """(sha256, canonical bytes) of blob rows, in their order; an external store's objects are prefetched
    a batch ahead and checked against their hashes."""
    if not store.blobs.external:
        inflate = isal_zlib.decompress  # the same zlib streams, ~15% less CPU than zlib's on these small blobs
        for sha256, data in rows:
            try:
                payload = inflate(data)
            except isal_zlib.error as exc:
                raise PacketBuildError(
                    f"stored payload {sha256} cannot be decompressed ({exc}); run `auditpack verify --store`"
                ) from exc
            yield sha256, payload
        return
    batches = iter(lambda: list(islice(rows, BATCH)), [])
    prefetch = store.blobs.prefetch  # type: ignore[attr-defined]
    for batch, payloads in prefetch(batches, lambda batch: [sha256 for sha256, _data in batch]):
        for sha256, _data in batch:
            yield sha256, payloads[sha256]


def write_manifest(
    store: EvidenceStore,
    run_ids: Sequence[int],
    header: dict[str, object],
    out: ExportWriter,
    *,
    accounts: Sequence[str] | None = None,
) -> int:
    """The manifest: `header`, then one entry per evidence item of the runs (in recording order)."""
    out.write(header_bytes(header))
    count = write_manifest_entries(store, run_ids, out, accounts=accounts)
    out.write(FOOTER)
    return count


class _Sink(Protocol):
    def write(self, data: bytes, /) -> Any: ...


_ENTRY_COLUMNS = (
    Evidence.sha256,
    Evidence.run_id,
    Evidence.account_id,
    Evidence.region,
    Evidence.service,
    Evidence.resource_type,
    Evidence.resource_id,
    Evidence.kind,
    type_coerce(Evidence.observed_at, String),  # as the database returns it: see stored_rfc3339
    Evidence.owner,
    Evidence.canonical_version,
)
# Every character class JSON escapes or passes through, to check that SQLite writes strings as orjson does
_PROBE = "".join(map(chr, range(0x20))) + '"\\/\x7f\u2028\u2029\ufeffé😀'
_STORED_GLOB = (
    "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]"
)


def write_manifest_entries(
    store: EvidenceStore, run_ids: Sequence[int], out: _Sink, *, accounts: Sequence[str] | None = None
) -> int:
    """The manifest's evidence entries alone (what follows `header_bytes`, before FOOTER): a packet writes them
    before its header is known (the header holds the OSCAL documents' hashes), then joins the two."""
    with store.engine.connect() as connection:  # Core rows: a Session added per-row ORM handling for nothing
        scope = scan_scope(connection, run_ids, accounts)
        if connection.dialect.name == "sqlite" and _sqlite_writes_json_as_orjson(connection):
            return _entries_by_sqlite(connection, scope, out)
        query = select(*_ENTRY_COLUMNS).where(scope).order_by(Evidence.id)
        count = 0
        for row in connection.execute(query.execution_options(yield_per=BATCH)):
            out.write(entry_bytes(_entry_values(row), count == 0))
            count += 1
    return count


def _entry_values(row: Any) -> tuple[Any, ...]:
    values = tuple(row)
    return (*values[:8], stored_rfc3339(values[8]), *values[9:])


def _sqlite_writes_json_as_orjson(connection: Connection) -> bool:
    """Whether this SQLite's `json_object` gives orjson's bytes (the same escapes, UTF-8 passed through); an SQLite
    that writes them otherwise gets the entries written in Python."""
    made = connection.execute(select(func.json_object("a", _PROBE, "b", None, "c", 12))).scalar_one()
    return isinstance(made, str) and made.encode("utf-8") == orjson.dumps({"a": _PROBE, "b": None, "c": 12})


def _entries_by_sqlite(connection: Connection, scope: ColumnElement[bool], out: _Sink) -> int:
    """The entries written by SQLite itself (`json_object`, its time text made RFC 3339 as `stored_rfc3339` makes
    it): a million entries take 3.0 s of CPU instead of 4.4 s (issue 18). A row whose time is not SQLite's stored
    text comes back as its id instead and is written in Python."""
    stored = type_coerce(Evidence.observed_at, String)
    observed = case(
        (func.substr(stored, 21) == "000000", func.substr(stored, 1, 10) + "T" + func.substr(stored, 12, 8) + "Z"),
        else_=func.replace(stored, " ", "T") + "Z",
    )
    pairs = [
        part
        for name, column in zip(EVIDENCE_FIELDS, _ENTRY_COLUMNS, strict=True)
        for part in (literal(name), observed if name == "observed_at" else column)
    ]
    well_formed = stored.op("GLOB")(_STORED_GLOB)
    # one column: the entry's text, or the id of a row to write in Python
    query = select(case((well_formed, func.json_object(*pairs)), else_=Evidence.id)).where(scope).order_by(Evidence.id)
    count = 0
    rows = read_rows(connection, query)
    while part := [row[0] for row in islice(rows, BATCH)]:
        if not all(type(entry) is str for entry in part):
            part = [entry if type(entry) is str else _entry_by_id(connection, entry) for entry in part]
        data = ",\n".join(part).encode("utf-8")
        out.write(b",\n" + data if count else data)
        count += len(part)
    return count


def _entry_by_id(connection: Connection, evidence_id: int) -> str:
    row = connection.execute(select(*_ENTRY_COLUMNS).where(Evidence.id == evidence_id)).one()
    return entry_bytes(_entry_values(row), True).decode("utf-8")


def stored_rfc3339(value: str | datetime) -> str:
    """`rfc3339` of an `observed_at` as the database returns it, without making a datetime of it when it is SQLite's
    stored text (`2026-11-20 02:00:00.000000`, naive UTC): at a million manifest entries, parsing each into a
    datetime to format it back was ~2 s of the packet's critical path (issue 18). Other text is parsed; PostgreSQL
    returns datetimes."""
    if isinstance(value, str) and SQLITE_STAMP(value):
        fraction = "" if value[20:] == "000000" else value[19:]
        return f"{value[:10]}T{value[11:19]}{fraction}Z"
    return rfc3339(stored_utc(value))


_FORMULA_FIRST = frozenset(_FORMULA_START)
_ROWS_PER_WRITE = 10_000


def spreadsheet_text(value: str) -> str:
    """Spreadsheets run cells that start with = + - @ as formulas; a leading apostrophe keeps them text."""
    return "'" + value if value[:1] in _FORMULA_FIRST else value


def write_findings(findings: Iterable[Finding], controls_by_check: dict[str, Sequence[str]], out: ExportWriter) -> int:
    """findings.csv: one row per check and resource, with the framework's controls each check bears on.

    What the `csv` module writes (QUOTE_MINIMAL, a cell with a line break quoted, "\n" line ends), faster: a row
    whose cells hold no delimiter, quote or line break is its cells joined by commas, which is what `csv` gives for
    it; any other row goes through `csv`. A million `writerow` calls were 6 s of a packet's critical path (issue 18).
    """
    text = io.StringIO()
    # "\r\n" so that `csv` quotes a cell holding a carriage return as well as a line feed (with "\n" it left a
    # bare "\r" unquoted, which readers take for a line end); each row's "\r\n" is replaced by "\n"
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(FINDINGS_COLUMNS)
    out.write(text.getvalue()[:-2].encode("utf-8") + b"\n")
    controls = {check: " ".join(ids) for check, ids in controls_by_check.items()}
    lines: list[bytes] = []
    count = 0
    for finding in findings:
        observed = finding.observed_at
        if observed is None:
            when = ""
        elif observed.tzinfo is UTC:  # as the store returns it: isoformat ends in "+00:00"
            when = observed.isoformat()[:-6] + "Z"
        else:
            when = rfc3339(observed)
        cells = (
            finding.check_id,
            finding.status.value,
            controls.get(finding.check_id, ""),
            finding.account_id,
            finding.region,
            spreadsheet_text(finding.resource_type),
            spreadsheet_text(finding.resource_id),
            spreadsheet_text(finding.owner or ""),
            when,
            " ".join(finding.evidence),
            spreadsheet_text(finding.reason),
        )
        line = ",".join(cells)
        if line.count(",") != 10 or '"' in line or "\n" in line or "\r" in line:  # a cell to quote: as `csv` does
            text.seek(0)
            text.truncate()
            writer.writerow(cells)
            line = text.getvalue()[:-2]
        lines.append(line.encode("utf-8"))
        count += 1
        if len(lines) >= _ROWS_PER_WRITE:
            _write_lines(out, lines)
    _write_lines(out, lines)
    return count
