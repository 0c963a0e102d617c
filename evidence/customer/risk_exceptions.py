"""Exceptions (risk acceptances): requested with a justification and an expiry, approved by someone else.

Scope: a check (every resource, some resource ids, or one account's resources), a control, or a check within
a control. `expires_at` is required and at most `CustomerPolicy.exception_max` after the request: no risk is
accepted forever. Like items, an exception row never changes; its states are appended, chained events.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.errors import ConflictError, InputError, NotFoundError
from evidence.customer import ledger
from evidence.customer.models import RiskExceptionRow
from evidence.customer.policy import Actor, CustomerPolicy, check_check_id, check_controls, required_text
from evidence.customer.queries import get_exception
from evidence.customer.transitions import EXCEPTION_TRANSITIONS, append_event, check_transition, current_state, write
from evidence.customer.types import ExceptionState, RiskException

MIN_JUSTIFICATION = 30


def request_exception(
    engine: Engine,
    *,
    policy: CustomerPolicy,
    actor: Actor,
    justification: str,
    compensating: str,
    expires_at: datetime,
    check_id: str | None = None,
    control: str | None = None,
    resource_ids: Sequence[str] = (),
    account_id: str | None = None,
    now: datetime | None = None,
) -> RiskException:
    actor.require_writer("request an exception")
    now = now or utcnow()
    if check_id is None and control is None:
        raise InputError("an exception needs a scope: a check id (--check), a control (--control), or both")
    if check_id is None and (resource_ids or account_id):
        raise InputError("resource ids and an account narrow a check: give the check id (--check) too")
    justification = (justification or "").strip()
    if len(justification) < MIN_JUSTIFICATION:
        raise InputError(
            f"the justification has {len(justification)} characters; at least {MIN_JUSTIFICATION} are required: "
            "say why the risk is accepted"
        )
    if expires_at <= now:
        raise InputError(f"expires_at {expires_at.isoformat()} has already passed")
    latest = now + policy.exception_max
    if expires_at > latest:
        raise InputError(
            f"expires_at {expires_at.isoformat()} is more than {policy.exception_max.days} days away; "
            f"the latest allowed is {latest.isoformat()}",
            hint="AUDITPACK_EXCEPTION_MAX_DAYS sets the maximum",
        )
    resources = sorted({resource.strip() for resource in resource_ids if resource.strip()})
    row = RiskExceptionRow(
        check_id=check_check_id(check_id.strip(), policy) if check_id else None,
        control=check_controls([control], policy)[0] if control else None,
        resource_ids=resources,
        account_id=account_id.strip() if account_id else None,
        justification=justification,
        compensating=required_text(compensating, "the compensating controls", max_length=4000),
        requested_by=actor.name,
        requested_at=now,
        expires_at=expires_at,
    )

    def work(session: Session) -> int:
        ledger.seal(session, row)
        append_event(session, exception_id=row.id, state=ExceptionState.REQUESTED, actor=actor.name, at=now)
        return row.id

    return get_exception(engine, write(engine, work))


def _review(
    engine: Engine,
    exception_id: int,
    target: ExceptionState,
    actor: Actor,
    reason: str | None,
    now: datetime | None,
) -> RiskException:
    at = now or utcnow()

    def work(session: Session) -> None:
        row = session.get(RiskExceptionRow, exception_id)
        if row is None:
            raise NotFoundError(f"exception {exception_id} does not exist")
        subject = f"exception {exception_id}"
        actor.require_writer(f"review {subject}")
        if target is not ExceptionState.REVOKED:
            verb = "approve" if target is ExceptionState.APPROVED else "reject"
            actor.require_other_than(row.requested_by, verb, subject)
        check_transition(EXCEPTION_TRANSITIONS, subject, current_state(session, exception_id=exception_id), target)
        if target is ExceptionState.APPROVED and at >= row.expires_at:
            raise ConflictError(f"{subject} expired at {row.expires_at.isoformat()}; it can no longer be approved")
        append_event(session, exception_id=exception_id, state=target, actor=actor.name, at=at, reason=reason)

    write(engine, work)
    return get_exception(engine, exception_id)


def approve_exception(engine: Engine, *, exception_id: int, actor: Actor, now: datetime | None = None) -> RiskException:
    return _review(engine, exception_id, ExceptionState.APPROVED, actor, None, now)


def reject_exception(
    engine: Engine, *, exception_id: int, actor: Actor, reason: str, now: datetime | None = None
) -> RiskException:
    reason = required_text(reason, "a reason", max_length=2000)
    return _review(engine, exception_id, ExceptionState.REJECTED, actor, reason, now)


def revoke_exception(
    engine: Engine, *, exception_id: int, actor: Actor, reason: str, now: datetime | None = None
) -> RiskException:
    reason = required_text(reason, "a reason", max_length=2000)
    return _review(engine, exception_id, ExceptionState.REVOKED, actor, reason, now)
