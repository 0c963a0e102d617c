"""The read side: items and exceptions with their full event histories, as the contract types of `types.py`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.errors import NotFoundError
from evidence.customer.models import Item, ReviewEventRow, RiskExceptionRow
from evidence.customer.types import (
    ControlRef,
    CustomerEvidence,
    CustomerItem,
    ExceptionState,
    ItemKind,
    ItemState,
    ReviewEvent,
    RiskException,
)
from evidence.db import session_factory

_BATCH = 500
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing; pass `next_cursor` as `after_id` for the next (None: this was the last)."""

    rows: tuple[T, ...]
    next_cursor: int | None


def control_ref(value: str) -> ControlRef:
    framework, _, control_id = value.partition(":")
    return ControlRef(framework, control_id)


def _event(row: ReviewEventRow) -> ReviewEvent:
    return ReviewEvent(id=row.id, state=row.state, actor=row.actor, at=row.at, reason=row.reason)


def _events(
    session: Session, column: Any, ids: Sequence[int] | None, until: datetime | None
) -> dict[int, list[ReviewEvent]]:
    """Events per subject, oldest first (`ids` None: of every subject, without a long IN list)."""
    found: dict[int, list[ReviewEvent]] = defaultdict(list)
    query = select(ReviewEventRow).where(column.is_not(None)).order_by(ReviewEventRow.id)
    if ids is not None:
        query = query.where(column.in_(list(ids)))
    if until is not None:
        query = query.where(ReviewEventRow.at <= until)
    for row in session.scalars(query):
        found[row.item_id if column is ReviewEventRow.item_id else row.exception_id].append(_event(row))
    return found


def to_item(row: Item, events: Sequence[ReviewEvent], superseded_by: int | None) -> CustomerItem:
    return CustomerItem(
        id=row.id,
        kind=ItemKind(row.kind),
        title=row.title,
        controls=tuple(control_ref(ref) for ref in row.controls),
        owner=row.owner,
        submitted_by=row.submitted_by,
        submitted_at=row.submitted_at,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        content_sha256=row.content_sha256,
        media_type=row.media_type,
        size=row.size,
        filename=row.filename,
        supersedes=row.supersedes,
        statement_by=row.statement_by,
        record_url=row.record_url,
        events=tuple(events),
        superseded_by=superseded_by,
        import_path=row.import_path,
    )


def to_exception(row: RiskExceptionRow, events: Sequence[ReviewEvent]) -> RiskException:
    return RiskException(
        id=row.id,
        check_id=row.check_id,
        control=control_ref(row.control) if row.control else None,
        resource_ids=tuple(row.resource_ids),
        account_id=row.account_id,
        justification=row.justification,
        compensating=row.compensating,
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        expires_at=row.expires_at,
        events=tuple(events),
    )


def _items(
    session: Session, rows: Sequence[Item], until: datetime | None = None, *, every: bool = False
) -> list[CustomerItem]:
    """`rows` as contract items; `every`: rows are all items, so read events and successors without IN lists."""
    ids = None if every else [row.id for row in rows]
    events = _events(session, ReviewEventRow.item_id, ids, until)
    successors_query = select(Item.supersedes, Item.id).where(Item.supersedes.is_not(None))
    if ids is not None:
        successors_query = successors_query.where(Item.supersedes.in_(ids))
    if until is not None:
        successors_query = successors_query.where(Item.submitted_at <= until)
    successors = {old: new for old, new in session.execute(successors_query)}
    return [to_item(row, events[row.id], successors.get(row.id)) for row in rows]


def load_items(session: Session, ids: Sequence[int]) -> list[CustomerItem]:
    return _items(session, list(session.scalars(select(Item).where(Item.id.in_(list(ids))).order_by(Item.id))))


def get_item(engine: Engine, item_id: int) -> CustomerItem:
    with session_factory(engine)() as session:
        found = load_items(session, [item_id])
    if not found:
        raise NotFoundError(f"customer evidence item {item_id} does not exist")
    return found[0]


def get_exception(engine: Engine, exception_id: int) -> RiskException:
    with session_factory(engine)() as session:
        row = session.get(RiskExceptionRow, exception_id)
        if row is None:
            raise NotFoundError(f"exception {exception_id} does not exist")
        return to_exception(row, _events(session, ReviewEventRow.exception_id, [row.id], None)[row.id])


def list_items(
    engine: Engine,
    *,
    as_of: datetime | None = None,
    control: str | None = None,
    state: ItemState | None = None,
    kind: ItemKind | None = None,
    expiring_within: timedelta | None = None,
    ids: Collection[int] | None = None,
    after_id: int | None = None,
    limit: int = 100,
) -> Page[CustomerItem]:
    """Items in id order, filtered by a control they support, their state at `as_of` (default now), their kind,
    or approved ones whose validity ends within `expiring_within` of `as_of`; keyset-paged by id. `ids` limits
    the listing to those items (what a reader may see; None: every item)."""
    moment = as_of or utcnow()

    def keep(item: CustomerItem) -> bool:
        current = item.state_as_of(moment)
        if control is not None and control not in {str(ref) for ref in item.controls}:
            return False
        if state is not None and current is not state:
            return False
        if expiring_within is not None:
            return current is ItemState.APPROVED and item.valid_until < moment + expiring_within
        return True

    query = select(Item).where(Item.submitted_at <= moment).order_by(Item.id)
    if kind is not None:
        query = query.where(Item.kind == kind.value)
    if ids is not None:
        query = query.where(Item.id.in_(sorted(ids)))
    return _page(engine, query, Item.id, after_id, limit, lambda s, rows: _items(s, rows), keep)


def list_exceptions(
    engine: Engine,
    *,
    as_of: datetime | None = None,
    state: ExceptionState | None = None,
    check_id: str | None = None,
    ids: Collection[int] | None = None,
    after_id: int | None = None,
    limit: int = 100,
) -> Page[RiskException]:
    """Exceptions in id order, filtered by their state at `as_of` (default now) or check; keyset-paged by id.
    `ids` limits the listing to those exceptions (what a reader may see; None: every exception)."""
    moment = as_of or utcnow()

    def convert(session: Session, rows: Sequence[RiskExceptionRow]) -> list[RiskException]:
        events = _events(session, ReviewEventRow.exception_id, [row.id for row in rows], None)
        return [to_exception(row, events[row.id]) for row in rows]

    query = select(RiskExceptionRow).where(RiskExceptionRow.requested_at <= moment).order_by(RiskExceptionRow.id)
    if check_id is not None:
        query = query.where(RiskExceptionRow.check_id == check_id)
    if ids is not None:
        query = query.where(RiskExceptionRow.id.in_(sorted(ids)))
    keep = (lambda e: e.state_as_of(moment) is state) if state is not None else (lambda e: True)
    return _page(engine, query, RiskExceptionRow.id, after_id, limit, convert, keep)


def _page(engine, query, id_column, after_id, limit, convert, keep):  # type: ignore[no-untyped-def]
    """Scan in id order from the cursor, converting and filtering batch by batch, until `limit` rows are kept."""
    kept: list = []
    cursor = after_id or 0
    with session_factory(engine)() as session:
        while True:
            rows = list(session.scalars(query.where(id_column > cursor).limit(_BATCH)))
            for converted in convert(session, rows):
                cursor = converted.id
                if keep(converted):
                    kept.append(converted)
                    if len(kept) == limit:
                        more = session.scalar(query.with_only_columns(id_column).where(id_column > cursor).limit(1))
                        return Page(tuple(kept), cursor if more is not None else None)
            if len(rows) < _BATCH:
                return Page(tuple(kept), None)


def customer_evidence(engine: Engine, *, as_of: datetime | None = None) -> CustomerEvidence:
    """Every item and exception known at `as_of` (default: now), with their histories up to that moment: what a
    control status or a packet as of that time is evaluated against."""
    moment = as_of or utcnow()
    with session_factory(engine)() as session:
        item_rows = list(session.scalars(select(Item).where(Item.submitted_at <= moment).order_by(Item.id)))
        items = _items(session, item_rows, until=moment, every=True)
        exception_rows = list(
            session.scalars(
                select(RiskExceptionRow).where(RiskExceptionRow.requested_at <= moment).order_by(RiskExceptionRow.id)
            )
        )
        events = _events(session, ReviewEventRow.exception_id, None, moment)
        exceptions = [to_exception(row, events[row.id]) for row in exception_rows]
    return CustomerEvidence(items=tuple(items), exceptions=tuple(exceptions))
