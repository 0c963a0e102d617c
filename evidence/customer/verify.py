"""`verify --store` for customer evidence: recompute every row's record hash (in the canonical version the row
records), walk the ledger, match entries to rows one to one, and hash every content's chunks. Each problem is named
by where it is ("customer item 7", "ledger entry 12", "customer content 3f2a…") and says what was found against
what was expected."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core.canonical import CanonicalVersionError
from core.errors import VerificationError
from evidence.customer.content import as_bytes, object_chunks
from evidence.customer.ledger import ENTRY_TYPES, LedgerHead, entry_digest
from evidence.customer.models import Content, ContentChunk, Item, LedgerEntry
from evidence.db import session_factory

_NAMES = {"item": "customer item", "exception": "customer exception", "event": "customer event"}


@dataclass(frozen=True, slots=True)
class LedgerProblem:
    where: str
    problem: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


@dataclass(frozen=True, slots=True)
class CustomerVerification:
    """intact: every row hashes to its record hash, has exactly one ledger entry, the ledger links are unbroken,
    every content hashes to its sha256, and the expected head (if any) is still in the ledger.
    head: the newest ledger entry (record its digest to detect later deletion of the newest entries)."""

    intact: bool
    items_checked: int
    exceptions_checked: int
    events_checked: int
    contents_checked: int
    entries_checked: int
    head: LedgerHead | None
    problems: tuple[LedgerProblem, ...] = field(default_factory=tuple)


def _short(digest: str | None) -> str:
    return f"{digest[:16]}…" if digest else "none"


def verify_customer(engine: Engine, *, expected_head: str | None = None) -> CustomerVerification:
    problems: list[LedgerProblem] = []
    stored: dict[tuple[str, int], str] = {}  # (entry type, id) -> the row's stored record hash
    counts: dict[str, int] = {}
    with session_factory(engine)() as session:
        for model, (entry_type, record_hash) in ENTRY_TYPES.items():
            counts[entry_type] = 0
            for row in session.scalars(select(model).order_by(model.id).execution_options(yield_per=1000)):
                counts[entry_type] += 1
                stored[(entry_type, row.id)] = row.record_sha256
                try:
                    computed = record_hash(row)  # in the canonical version the row records
                except CanonicalVersionError as exc:
                    problems.append(
                        LedgerProblem(f"{_NAMES[entry_type]} {row.id}", f"its hash cannot be recomputed: {exc.message}")
                    )
                    continue
                if computed != row.record_sha256:
                    problems.append(
                        LedgerProblem(
                            f"{_NAMES[entry_type]} {row.id}",
                            f"fields were changed: record hash {_short(row.record_sha256)} does not match "
                            f"{_short(computed)}",
                        )
                    )
        entries, head, digests = _walk(session, stored, problems)
        for key in sorted(set(stored) - entries):
            problems.append(
                LedgerProblem(f"{_NAMES[key[0]]} {key[1]}", "has no ledger entry: it was inserted outside auditpack")
            )
        contents = _check_contents(session, problems)
    if expected_head is not None and expected_head not in digests:
        problems.append(
            LedgerProblem(
                "customer ledger",
                f"the recorded head {expected_head} is not in the ledger (head is now "
                f"{head.digest if head else '(empty)'}): entries were deleted or rewritten since it was recorded",
            )
        )
    return CustomerVerification(
        intact=not problems,
        items_checked=counts["item"],
        exceptions_checked=counts["exception"],
        events_checked=counts["event"],
        contents_checked=contents,
        entries_checked=len(digests),
        head=head,
        problems=tuple(problems),
    )


def _walk(
    session: Session, stored: dict[tuple[str, int], str], problems: list[LedgerProblem]
) -> tuple[set[tuple[str, int]], LedgerHead | None, set[str]]:
    seen: set[tuple[str, int]] = set()
    digests: set[str] = set()
    previous: LedgerEntry | None = None
    expected_seq = 1
    for entry in session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq).execution_options(yield_per=1000)):
        where = f"ledger entry {entry.seq}"
        if entry.seq != expected_seq:
            problems.append(
                LedgerProblem(where, f"expected entry {expected_seq} here: entries were deleted or reordered")
            )
        expected_previous = previous.digest if previous else None
        if entry.previous_digest != expected_previous:
            problems.append(
                LedgerProblem(
                    where,
                    f"links to {_short(entry.previous_digest)}, but the entry before it is {_short(expected_previous)}",
                )
            )
        try:
            recomputed = entry_digest(
                seq=entry.seq,
                entry_type=entry.entry_type,
                entry_id=entry.entry_id,
                record_sha256=entry.record_sha256,
                previous_digest=entry.previous_digest,
                canonical_version=entry.canonical_version,
            )
        except CanonicalVersionError as exc:
            problems.append(LedgerProblem(where, f"its digest cannot be recomputed: {exc.message}"))
        else:
            if recomputed != entry.digest:
                problems.append(
                    LedgerProblem(where, f"digest {_short(entry.digest)} does not match {_short(recomputed)}")
                )
        key = (entry.entry_type, entry.entry_id)
        subject = f"{_NAMES.get(entry.entry_type, entry.entry_type)} {entry.entry_id}"
        if key not in stored:
            problems.append(LedgerProblem(where, f"points at {subject}, which no longer exists: it was deleted"))
        elif stored[key] != entry.record_sha256:
            problems.append(
                LedgerProblem(
                    where,
                    f"sealed {subject} with record hash {_short(entry.record_sha256)}, but the row now has "
                    f"{_short(stored[key])}: the row was rewritten",
                )
            )
        if key in seen:
            problems.append(LedgerProblem(where, f"seals {subject} a second time"))
        seen.add(key)
        digests.add(entry.digest)
        previous = entry
        expected_seq = entry.seq + 1
    head = LedgerHead(previous.seq, previous.digest, previous.canonical_version) if previous else None
    return seen, head, digests


def _check_contents(session: Session, problems: list[LedgerProblem]) -> int:
    contents = {c.sha256: c for c in session.scalars(select(Content))}
    for item_id, sha in session.execute(select(Item.id, Item.content_sha256).order_by(Item.id)):
        if sha not in contents:
            problems.append(LedgerProblem(f"customer item {item_id}", f"its content {sha} is missing"))
    engine = session.get_bind()
    for sha, content in sorted(contents.items()):
        where = f"customer content {sha[:16]}…"
        streamed = object_chunks(engine, content)  # type: ignore[arg-type]
        if streamed is not None:
            _check_object(sha, content, streamed, where, problems)
            continue
        digest, size, seqs = hashlib.sha256(), 0, []  # one chunk in memory at a time
        chunks = select(ContentChunk.seq, ContentChunk.data).where(ContentChunk.sha256 == sha)
        chunks = chunks.order_by(ContentChunk.seq)
        for seq, data in session.execute(chunks.execution_options(yield_per=1)):
            raw = as_bytes(data)
            digest.update(raw)
            size += len(raw)
            seqs.append(seq)
        if seqs != list(range(content.chunk_count)):
            problems.append(LedgerProblem(where, f"holds chunks {_ranges(seqs)}, expected 0-{content.chunk_count - 1}"))
        if digest.hexdigest() != sha or size != content.size:
            problems.append(
                LedgerProblem(where, f"its {size:,} stored bytes hash to {_short(digest.hexdigest())}: it was altered")
            )
    return len(contents)


def _check_object(
    sha: str, content: Content, streamed: Iterator[bytes], where: str, problems: list[LedgerProblem]
) -> None:
    """A content kept as an S3 object: read back whole (one chunk in memory at a time) and hashed."""
    digest, size = hashlib.sha256(), 0
    try:
        for chunk in streamed:
            digest.update(chunk)
            size += len(chunk)
    except VerificationError as exc:  # the object is missing
        problems.append(LedgerProblem(where, exc.message))
        return
    if digest.hexdigest() != sha or size != content.size:
        problems.append(
            LedgerProblem(where, f"its {size:,} stored bytes hash to {_short(digest.hexdigest())}: it was altered")
        )


def _ranges(seqs: list[int]) -> str:
    return ", ".join(map(str, seqs[:10])) + (" …" if len(seqs) > 10 else "") if seqs else "none"
