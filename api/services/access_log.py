"""The access log: append-only, hash-chained record of every download and every auditor request.

Each entry's `entry_sha256` is SHA-256 over the canonical JSON of its fields, which include `seq` (1, 2, 3 ...
without holes) and `previous_sha256` (the entry before it), in the canonical version (`core.canonical`) the entry
records in `canonical_version` (exports carry it; an export without it predates versions, so version 1). Changing
any field of any entry, deleting an entry in the middle or re-ordering entries breaks the chain at that point;
`verify_entries` says where. Removing entries at the end is only visible against a head recorded elsewhere (pass it
as `expected_head`): keep exported heads. The same verification runs over the database, an NDJSON export and a CSV
export.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session

from api.models import AccessLogEntry
from core import canonical
from core.canonical import LEGACY, CanonicalVersionError, canonical_json, check_version, rfc3339, sha256_hex
from core.errors import InputError, StoreError
from evidence.db import session_factory

log = logging.getLogger("auditpack.api.access_log")
_LOCK_KEY = 0x41504C47  # "APLG": serialises appends across processes on PostgreSQL
FIELDS: tuple[str, ...] = (
    "seq",
    "at",
    "principal",
    "token_id",
    "role",
    "action",
    "method",
    "path",
    "packet_id",
    "status_code",
    "client",
    "bytes_sent",
    "sha256",
    "previous_sha256",
)
# `canonical_version` says how `entry_sha256` was computed; it is not one of the hashed fields.
EXPORT_FIELDS = (*FIELDS, "entry_sha256", "canonical_version")
_INT_FIELDS = frozenset({"seq", "token_id", "status_code", "bytes_sent", "canonical_version"})
_OPTIONAL_COLUMNS = frozenset({"canonical_version"})  # absent from exports written before versions
_REQUIRED = frozenset({"seq", "at", "principal", "action", "method", "path", "status_code", "bytes_sent"})


@dataclass(frozen=True, slots=True)
class AccessEvent:
    """What happened, before it gets its place in the chain."""

    at: datetime
    principal: str
    token_id: int | None
    role: str | None
    action: str  # download.pdf | download.bundle | download.evidence | request
    method: str
    path: str
    packet_id: str | None
    status_code: int
    client: str | None
    bytes_sent: int = 0
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class ChainProblem:
    seq: int | None
    problem: str

    def __str__(self) -> str:
        return f"entry {self.seq}: {self.problem}" if self.seq is not None else self.problem


@dataclass(frozen=True, slots=True)
class ChainVerification:
    """intact: every entry hashes to its stored hash and links to the one before; `head` is the last entry's hash."""

    intact: bool
    checked: int
    head: str | None
    problems: tuple[ChainProblem, ...] = field(default_factory=tuple)


def entry_hash(fields: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of an entry's chained fields (`at` as RFC 3339 text), in the entry's
    `canonical_version` (1 when it has none: an export from before versions). Raises `CanonicalVersionError` for a
    version this auditpack does not know."""
    body = {name: fields.get(name) for name in FIELDS}
    if isinstance(body["at"], datetime):
        body["at"] = rfc3339(body["at"])
    version = check_version(fields.get("canonical_version", LEGACY))
    return sha256_hex(b"auditpack-access-log-v1\n" + canonical_json(body, version=version))


def append(engine: Engine, event: AccessEvent, *, attempts: int = 20) -> AccessLogEntry:
    """Add one entry at the head of the chain; concurrent writers are serialised (or retried on SQLite)."""
    sessions = session_factory(engine)
    refused: IntegrityError | None = None
    for _ in range(attempts):
        try:
            with sessions.begin() as session:
                return _append(session, event)
        except IntegrityError as exc:  # another writer took this seq first: read the new head and try again
            if not _duplicate_key(exc):
                raise  # a refusal (a trigger, a constraint) is not a race: retrying would not help
            refused = exc
    raise StoreError(
        f"could not append to the access log after {attempts} attempts; the last refusal: {_first_line(refused)}"
    )


def record_before_serving(engine: Engine, event: AccessEvent) -> AccessLogEntry:
    """Append the entry of something about to be served; nothing may be served unless this returned.

    A database failure becomes a `StoreError` (503) that says the download was not started; a pool timeout
    stays what it is (the API sheds it as overloaded)."""
    try:
        return append(engine, event)
    except PoolTimeoutError:
        raise
    except (SQLAlchemyError, StoreError) as exc:
        log.warning("access-log entry for %s %s not written: %s", event.method, event.path, _first_line(exc))
        raise StoreError(  # the database's own words stay in the server log
            f"{event.path} was not served: its access-log entry could not be written ({type(exc).__name__})",
            hint="nothing was sent; every download is logged before its first byte, retry once the database "
            "accepts writes again",
        ) from exc


def _duplicate_key(exc: IntegrityError) -> bool:
    orig = exc.orig
    name = getattr(orig, "sqlite_errorname", None) or type(orig).__name__
    return name in {"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY", "UniqueViolation"}


def _first_line(exc: BaseException | None) -> str:
    text = str(getattr(exc, "orig", None) or exc or "").strip()
    return text.splitlines()[0][:200] if text else "no detail"


def _append(session: Session, event: AccessEvent) -> AccessLogEntry:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    head = session.execute(
        select(AccessLogEntry.seq, AccessLogEntry.entry_sha256).order_by(AccessLogEntry.seq.desc()).limit(1)
    ).first()
    fields: dict[str, Any] = {
        "seq": head.seq + 1 if head else 1,
        "at": event.at,
        "principal": event.principal,
        "token_id": event.token_id,
        "role": event.role or None,
        "action": event.action,
        "method": event.method,
        "path": event.path,
        "packet_id": event.packet_id or None,
        "status_code": event.status_code,
        "client": event.client or None,
        "bytes_sent": event.bytes_sent,
        "sha256": event.sha256 or None,
        "previous_sha256": head.entry_sha256 if head else None,
        "canonical_version": canonical.CURRENT_VERSION,
    }
    entry = AccessLogEntry(**fields, entry_sha256=entry_hash(fields))
    session.add(entry)
    session.flush()
    return entry


def entries(session: Session, *, packet_id: str | None = None, after_seq: int = 0, limit: int | None = None) -> list:
    query = select(AccessLogEntry).where(AccessLogEntry.seq > after_seq).order_by(AccessLogEntry.seq)
    if packet_id is not None:
        query = query.where(AccessLogEntry.packet_id == packet_id)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def iter_records(engine: Engine, *, batch_size: int = 1000) -> Iterator[dict[str, Any]]:
    """Every entry in chain order as a plain record (the export form)."""
    with session_factory(engine)() as session:
        for entry in session.scalars(
            select(AccessLogEntry).order_by(AccessLogEntry.seq).execution_options(yield_per=batch_size)
        ):
            yield to_record(entry)


def to_record(entry: AccessLogEntry) -> dict[str, Any]:
    record = {name: getattr(entry, name) for name in EXPORT_FIELDS}
    record["at"] = rfc3339(entry.at)
    return record


def verify_entries(records: Iterable[Mapping[str, Any]], *, expected_head: str | None = None) -> ChainVerification:
    """Walk records in order: recompute each hash, check `seq` has no holes and every link points at its parent."""
    problems: list[ChainProblem] = []
    previous_hash: str | None = None
    expected_seq = 1
    checked = 0
    for record in records:
        checked += 1
        seq = record.get("seq")
        if seq != expected_seq:
            problems.append(
                ChainProblem(seq, f"sequence number {seq}, expected {expected_seq}: entries are missing or reordered")
            )
        if record.get("previous_sha256") != previous_hash:
            problems.append(
                ChainProblem(
                    seq, f"links to {record.get('previous_sha256')}, but the entry before it is {previous_hash}"
                )
            )
        try:
            computed: str | None = entry_hash(record)
        except CanonicalVersionError as exc:
            computed = None
            problems.append(ChainProblem(seq, f"its hash cannot be recomputed: {exc.message}"))
        if computed is not None and computed != record.get("entry_sha256"):
            problems.append(
                ChainProblem(
                    seq, f"fields were changed: stored hash {record.get('entry_sha256')}, recomputed {computed}"
                )
            )
        previous_hash = record.get("entry_sha256")
        expected_seq = (seq if isinstance(seq, int) else expected_seq) + 1
    if expected_head is not None and previous_hash != expected_head:
        problems.append(
            ChainProblem(
                None, f"the chain ends at {previous_hash}, expected head {expected_head}: entries were removed"
            )
        )
    return ChainVerification(intact=not problems, checked=checked, head=previous_hash, problems=tuple(problems))


def verify_database(engine: Engine, *, expected_head: str | None = None) -> ChainVerification:
    return verify_entries(iter_records(engine), expected_head=expected_head)


# -- export formats -------------------------------------------------------------------------------------------


def ndjson_lines(records: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    for record in records:
        yield json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"


def csv_lines(records: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({name: "" if record.get(name) is None else record[name] for name in EXPORT_FIELDS})
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()


def parse_export(text_stream: Iterable[str], *, form: str) -> Iterator[dict[str, Any]]:
    """Records from an NDJSON or CSV export, typed as they were hashed (CSV: empty cell = null)."""
    if form == "ndjson":
        for number, line in enumerate(text_stream, start=1):
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"line {number} of the NDJSON export is not JSON: {exc}") from None
        return
    if form != "csv":
        raise InputError(f"unknown export format {form!r}: expected ndjson or csv")
    reader = csv.DictReader(text_stream)
    missing = set(EXPORT_FIELDS) - _OPTIONAL_COLUMNS - set(reader.fieldnames or ())
    if missing:
        raise InputError(f"the CSV export lacks the column(s) {sorted(missing)}; expected {list(EXPORT_FIELDS)}")
    for row in reader:
        record: dict[str, Any] = {}
        for name in EXPORT_FIELDS:
            if name not in row:  # an optional column an older export lacks
                continue
            value = row[name]
            if value == "" and name not in _REQUIRED:
                record[name] = None
            elif name in _INT_FIELDS:
                try:
                    record[name] = int(value)
                except ValueError:
                    raise InputError(f"CSV row {reader.line_num}: {name} {value!r} is not a whole number") from None
            else:
                record[name] = value
        yield record
