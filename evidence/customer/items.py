"""Submitting and reviewing customer evidence items (documents, attestations, records).

Superseding: a new version names the one it replaces (`supersedes`); an item is superseded once (a unique
index), so versions form a line and the newest is superseded next. The old versions keep their history. When a
new version is approved, every earlier version still submitted or approved gets a `retracted` event with the
reason "superseded by item N" in the same transaction: from then on it reads retracted for every consumer, while
before that moment (and in packets as of earlier dates) it still reads approved. Until the new version is
approved, the old one stays what it was, so evidence never disappears while its replacement waits for review.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO
from urllib.parse import urlsplit

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.errors import ConflictError, ForbiddenError, InputError, NotFoundError
from evidence.customer import ledger
from evidence.customer.content import StagedContent, staged, store_content
from evidence.customer.filenames import sanitise_filename
from evidence.customer.models import Item
from evidence.customer.policy import Actor, CustomerPolicy, Role, check_controls, required_text
from evidence.customer.queries import load_items
from evidence.customer.transitions import ITEM_TRANSITIONS, append_event, check_transition, current_state, write
from evidence.customer.types import CustomerItem, ItemKind, ItemState
from evidence.db import session_factory


def submit_document(
    engine: Engine,
    *,
    policy: CustomerPolicy,
    actor: Actor,
    stream: BinaryIO,
    title: str,
    controls: list[str],
    owner: str,
    filename: str | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    supersedes: int | None = None,
    import_path: str | None = None,
    now: datetime | None = None,
) -> CustomerItem:
    """A file (policy, procedure, report), streamed from `stream`; its media type is sniffed from the bytes."""
    described = _Described(title, controls, owner, filename, supersedes, import_path=import_path)
    return _submit(engine, policy, actor, ItemKind.DOCUMENT, stream, described, valid_from, valid_until, now)


def submit_attestation(
    engine: Engine,
    *,
    policy: CustomerPolicy,
    actor: Actor,
    statement: str,
    statement_by: str,
    title: str,
    controls: list[str],
    owner: str,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    supersedes: int | None = None,
    now: datetime | None = None,
) -> CustomerItem:
    """A statement made by a named person in a named role ("Name, role"); stored as UTF-8 text content."""
    name, _, role = (statement_by or "").partition(",")
    if not name.strip() or not role.strip():
        raise InputError(f"who makes the statement must be given as 'Name, role', got {statement_by!r}")
    if not statement.strip():
        raise InputError("the statement is empty")
    described = _Described(title, controls, owner, None, supersedes, statement_by=" ".join(statement_by.split()))
    content = io.BytesIO(statement.encode("utf-8"))
    return _submit(engine, policy, actor, ItemKind.ATTESTATION, content, described, valid_from, valid_until, now)


def submit_record(
    engine: Engine,
    *,
    policy: CustomerPolicy,
    actor: Actor,
    url: str,
    stream: BinaryIO,
    title: str,
    controls: list[str],
    owner: str,
    filename: str | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    supersedes: int | None = None,
    now: datetime | None = None,
) -> CustomerItem:
    """A reference to another system (`url`, e.g. the ticket or HR record) with its captured export or text."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(f"record URL {url!r}: expected an http(s) URL")
    described = _Described(title, controls, owner, filename, supersedes, record_url=url)
    return _submit(engine, policy, actor, ItemKind.RECORD, stream, described, valid_from, valid_until, now)


@dataclass(frozen=True, slots=True)
class _Described:
    """What the submitter says about the content (checked by `_submit`)."""

    title: str
    controls: list[str]
    owner: str
    filename: str | None
    supersedes: int | None
    statement_by: str | None = None
    record_url: str | None = None
    import_path: str | None = None


def _submit(
    engine: Engine,
    policy: CustomerPolicy,
    actor: Actor,
    kind: ItemKind,
    stream: BinaryIO,
    described: _Described,
    valid_from: datetime | None,
    valid_until: datetime | None,
    now: datetime | None,
) -> CustomerItem:
    actor.require_writer("submit evidence")
    now = now or utcnow()
    valid_from = valid_from or now
    valid_until = valid_until or valid_from + policy.validity[kind]
    if valid_until <= valid_from:
        raise InputError(f"valid_until {valid_until.isoformat()} is not after valid_from {valid_from.isoformat()}")
    if valid_until <= now:
        raise InputError(f"valid_until {valid_until.isoformat()} has already passed: this evidence would be expired")
    fields = {
        "kind": kind.value,
        "title": required_text(described.title, "a title", max_length=300),
        "controls": list(check_controls(described.controls, policy)),
        "owner": required_text(described.owner, "an owner", max_length=256),
        "submitted_by": actor.name,
        "submitted_at": now,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "filename": sanitise_filename(described.filename),
        "supersedes": described.supersedes,
        "statement_by": described.statement_by,
        "record_url": described.record_url,
        "import_path": described.import_path,
    }
    # Stage (hash, size, sniff) before the transaction: a cut-off stream never reaches the database.
    with staged(stream, max_bytes=policy.max_bytes) as content:
        item_id = write(engine, lambda session: _insert(session, fields, content))
    return _reload(engine, item_id)


def _insert(session: Session, fields: dict, content: StagedContent) -> int:  # type: ignore[type-arg]
    previous = fields["supersedes"]
    if previous is not None:
        old = session.get(Item, previous)
        if old is None:
            raise NotFoundError(f"item {previous}, which this one would supersede, does not exist")
        if old.kind != fields["kind"]:
            raise InputError(f"item {previous} is a {old.kind}; a {fields['kind']} cannot supersede it")
        newer = session.scalar(select(Item.id).where(Item.supersedes == previous))
        if newer is not None:
            raise ConflictError(f"item {previous} is already superseded by item {newer}; supersede the newest version")
    store_content(session, content)
    row = Item(**fields, content_sha256=content.sha256, media_type=content.media_type, size=content.size)
    ledger.seal(session, row)
    append_event(session, item_id=row.id, state=ItemState.SUBMITTED, actor=row.submitted_by, at=row.submitted_at)
    return row.id


def _reload(engine: Engine, item_id: int) -> CustomerItem:
    with session_factory(engine)() as session:
        return load_items(session, [item_id])[0]


def _review(
    engine: Engine, item_id: int, target: ItemState, actor: Actor, reason: str | None, now: datetime | None
) -> CustomerItem:
    at = now or utcnow()

    def work(session: Session) -> int:
        row = session.get(Item, item_id)
        if row is None:
            raise NotFoundError(f"customer evidence item {item_id} does not exist")
        subject = f"item {item_id}"
        if target is ItemState.RETRACTED:
            if actor.name != row.submitted_by and actor.role is not Role.ADMIN:
                raise ForbiddenError(f"{actor.name} may not retract {subject}: only its submitter or an admin may")
        else:
            actor.require_writer(f"review {subject}")
            actor.require_other_than(row.submitted_by, "approve" if target is ItemState.APPROVED else "reject", subject)
        check_transition(ITEM_TRANSITIONS, subject, current_state(session, item_id=item_id), target)
        if target is ItemState.APPROVED and at >= row.valid_until:
            raise ConflictError(
                f"{subject} was valid until {row.valid_until.isoformat()}; it can no longer be approved"
            )
        append_event(session, item_id=item_id, state=target, actor=actor.name, at=at, reason=reason)
        if target is ItemState.APPROVED:
            _retire_earlier_versions(session, row, actor, at)
        return item_id

    write(engine, work)
    return _reload(engine, item_id)


def _retire_earlier_versions(session: Session, row: Item, actor: Actor, at: datetime) -> None:
    previous = row.supersedes
    while previous is not None:
        old = session.get(Item, previous)
        assert old is not None  # a foreign key
        if current_state(session, item_id=old.id) in (ItemState.SUBMITTED, ItemState.APPROVED):
            reason = f"superseded by item {row.id}"
            append_event(session, item_id=old.id, state=ItemState.RETRACTED, actor=actor.name, at=at, reason=reason)
        previous = old.supersedes


def approve(engine: Engine, *, item_id: int, actor: Actor, now: datetime | None = None) -> CustomerItem:
    return _review(engine, item_id, ItemState.APPROVED, actor, None, now)


def reject(engine: Engine, *, item_id: int, actor: Actor, reason: str, now: datetime | None = None) -> CustomerItem:
    return _review(engine, item_id, ItemState.REJECTED, actor, required_text(reason, "a reason", max_length=2000), now)


def retract(engine: Engine, *, item_id: int, actor: Actor, reason: str, now: datetime | None = None) -> CustomerItem:
    return _review(engine, item_id, ItemState.RETRACTED, actor, required_text(reason, "a reason", max_length=2000), now)
