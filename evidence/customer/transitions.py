"""The review state machines and the one way states change: an appended, chained event.

    item:       submitted -> approved | rejected | retracted;   approved -> retracted
    exception:  requested -> approved | rejected | revoked;     approved -> revoked

`expired` is never stored (it follows from the validity and the as-of time); rejected, retracted and revoked are
final. An illegal transition is a ConflictError naming the current state.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import ConflictError, StoreError
from evidence.customer import ledger
from evidence.customer.models import ReviewEventRow
from evidence.customer.types import ExceptionState, ItemState
from evidence.db import session_factory

T = TypeVar("T")

ITEM_TRANSITIONS: dict[str, frozenset[str]] = {
    ItemState.SUBMITTED: frozenset({ItemState.APPROVED, ItemState.REJECTED, ItemState.RETRACTED}),
    ItemState.APPROVED: frozenset({ItemState.RETRACTED}),
    ItemState.REJECTED: frozenset(),
    ItemState.RETRACTED: frozenset(),
}
EXCEPTION_TRANSITIONS: dict[str, frozenset[str]] = {
    ExceptionState.REQUESTED: frozenset({ExceptionState.APPROVED, ExceptionState.REJECTED, ExceptionState.REVOKED}),
    ExceptionState.APPROVED: frozenset({ExceptionState.REVOKED}),
    ExceptionState.REJECTED: frozenset(),
    ExceptionState.REVOKED: frozenset(),
}


def write(engine: Engine, work: Callable[[Session], T], *, attempts: int = 10) -> T:
    """Run `work` in one transaction under the ledger lock; retry when a concurrent writer took the same seq/id."""
    sessions = session_factory(engine)
    for _ in range(attempts):
        try:
            with sessions.begin() as session:
                ledger.lock(session)
                return work(session)
        except IntegrityError:
            continue
    raise StoreError(f"could not append to the customer ledger after {attempts} attempts (the head kept moving)")


def current_state(session: Session, *, item_id: int | None = None, exception_id: int | None = None) -> str:
    column = ReviewEventRow.item_id if item_id is not None else ReviewEventRow.exception_id
    subject = item_id if item_id is not None else exception_id
    state = session.scalar(
        select(ReviewEventRow.state).where(column == subject).order_by(ReviewEventRow.id.desc()).limit(1)
    )
    if state is None:  # pragma: no cover - every item and exception is written with its first event
        raise StoreError(f"{'item' if item_id is not None else 'exception'} {subject} has no review events")
    return state


def check_transition(table: dict[str, frozenset[str]], subject: str, current: str, target: str) -> None:
    if target not in table[current]:
        allowed = [state for state, targets in table.items() if target in targets]
        raise ConflictError(f"{subject} is {current}; only a {' or '.join(allowed)} one can be {target}")


def append_event(
    session: Session,
    *,
    state: str,
    actor: str,
    at: datetime,
    reason: str | None = None,
    item_id: int | None = None,
    exception_id: int | None = None,
) -> ReviewEventRow:
    event = ReviewEventRow(
        item_id=item_id, exception_id=exception_id, state=str(state), actor=actor, at=at, reason=reason
    )
    ledger.seal(session, event)
    return event
