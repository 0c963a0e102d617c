"""Exceptions (risk acceptances): request, list, read, approve, reject, revoke.

Officers and admins request and review (never their own request: 403); auditors read only the exceptions their
granted packets list. Every rule is `evidence.customer.service`'s; these routes read the request and answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from api.deps import ContextDep, CurrentPrincipal, IdempotencyKey, OfficerPrincipal
from api.parsing import as_of_instant
from api.schemas.common import READ, errors
from api.schemas.customer import CheckId, ExceptionOut, ExceptionPage, ExceptionRequestBody, ReasonBody, start_of
from api.schemas.types import Id, InstantOrDay, count
from api.services import customer, idempotency
from core.canonical import rfc3339
from evidence.customer import service
from evidence.customer.types import ExceptionState, RiskException

router = APIRouter(prefix="/v1/exceptions", tags=["exceptions"])
ExceptionId = Annotated[Id, Path(description="The exception's id.")]  # type: ignore[valid-type]
PATH = "/v1/exceptions"


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ExceptionOut,
    summary="Request an exception for a check or a control (honours Idempotency-Key)",
    responses=errors(*READ, 400, 413),
)
def request_exception(
    body: ExceptionRequestBody,
    response: Response,
    context: ContextDep,
    principal: OfficerPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> ExceptionOut:
    policy = context.customer_policy
    assert policy is not None  # the router is mounted only with a policy
    now = context.clock()
    expires_at = start_of(body.expires_at)
    assert expires_at is not None  # a required field
    fields = {**body.model_dump(exclude={"expires_at"}), "expires_at": rfc3339(expires_at)}
    exception, created = idempotency.once(
        context.sessions,
        principal=principal,
        key=idempotency_key,
        request_sha256=idempotency.fingerprint(f"POST {PATH}", fields),
        now=now,
        work=lambda: service.request_exception(
            context.engine,
            policy=policy,
            actor=customer.actor(principal),
            justification=body.justification,
            compensating=body.compensating,
            expires_at=expires_at,
            check_id=body.check_id,
            control=body.control,
            resource_ids=body.resource_ids,
            account_id=body.account_id,
            now=now,
        ),
        produced=lambda exception: exception.id,
        replay=lambda exception_id: service.get_exception(context.engine, exception_id),
    )
    response.headers["Location"] = f"{PATH}/{exception.id}"
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return ExceptionOut.of(exception, context.clock())


@router.get(
    "",
    response_model=ExceptionPage,
    summary="List exceptions in id order (auditors: only those their packets list)",
    responses=errors(*READ, 400),
)
def list_exceptions(
    context: ContextDep,
    principal: CurrentPrincipal,
    state: Annotated[ExceptionState | None, Query(description="The state as of `as_of`.")] = None,
    check_id: Annotated[CheckId | None, Query()] = None,
    as_of: Annotated[
        InstantOrDay | None, Query(description="States as of this moment (a day: its end, UTC); default now.")
    ] = None,
    limit: Annotated[count(1, 500), Query()] = 100,  # type: ignore[valid-type]
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> ExceptionPage:
    now = context.clock()
    filters = customer.ExceptionFilter(as_of=as_of_instant(as_of, now=now), state=state, check_id=check_id)
    rows, moment, next_cursor = customer.list_exceptions(
        context.engine,
        filters=filters,
        principal=principal,
        limit=limit,
        cursor=cursor,
        codec=context.cursors,
        now=now,
    )
    return ExceptionPage(items=[ExceptionOut.of(row, moment) for row in rows], next_cursor=next_cursor)


@router.get(
    "/{exception_id}",
    response_model=ExceptionOut,
    summary="One exception with its review history",
    responses=errors(*READ, 404),
)
def get_exception(exception_id: ExceptionId, context: ContextDep, principal: CurrentPrincipal) -> ExceptionOut:
    exception = customer.get_exception(context.engine, exception_id=exception_id, principal=principal)
    return ExceptionOut.of(exception, context.clock())


def _review(
    context: ContextDep,
    principal: OfficerPrincipal,
    response: Response,
    key: str | None,
    *,
    verb: str,
    exception_id: int,
    reason: str | None,
    act: Callable[[], RiskException],
) -> ExceptionOut:
    exception, done_now = idempotency.once(
        context.sessions,
        principal=principal,
        key=key,
        request_sha256=idempotency.fingerprint(f"POST {PATH}/{{id}}/{verb}", {"id": exception_id, "reason": reason}),
        now=context.clock(),
        work=act,
        produced=lambda exception: exception.id,
        replay=lambda _id: service.get_exception(context.engine, exception_id),
    )
    if not done_now:
        response.headers["Idempotent-Replayed"] = "true"
    return ExceptionOut.of(exception, context.clock())


_REVIEW_ERRORS = errors(*READ, 400, 403, 404, 409)


@router.post(
    "/{exception_id}/approve",
    response_model=ExceptionOut,
    summary="Approve a requested exception (not your own; honours Idempotency-Key)",
    responses=_REVIEW_ERRORS,
)
def approve_exception(
    exception_id: ExceptionId,
    response: Response,
    context: ContextDep,
    principal: OfficerPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> ExceptionOut:
    actor, now = customer.actor(principal), context.clock()
    return _review(
        context,
        principal,
        response,
        idempotency_key,
        verb="approve",
        exception_id=exception_id,
        reason=None,
        act=lambda: service.approve_exception(context.engine, exception_id=exception_id, actor=actor, now=now),
    )


@router.post(
    "/{exception_id}/reject",
    response_model=ExceptionOut,
    summary="Reject a requested exception, saying why (not your own; honours Idempotency-Key)",
    responses=_REVIEW_ERRORS,
)
def reject_exception(
    exception_id: ExceptionId,
    body: ReasonBody,
    response: Response,
    context: ContextDep,
    principal: OfficerPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> ExceptionOut:
    actor, now = customer.actor(principal), context.clock()
    return _review(
        context,
        principal,
        response,
        idempotency_key,
        verb="reject",
        exception_id=exception_id,
        reason=body.reason,
        act=lambda: service.reject_exception(
            context.engine, exception_id=exception_id, actor=actor, reason=body.reason, now=now
        ),
    )


@router.post(
    "/{exception_id}/revoke",
    response_model=ExceptionOut,
    summary="End a requested or approved exception now, saying why (honours Idempotency-Key)",
    responses=_REVIEW_ERRORS,
)
def revoke_exception(
    exception_id: ExceptionId,
    body: ReasonBody,
    response: Response,
    context: ContextDep,
    principal: OfficerPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> ExceptionOut:
    actor, now = customer.actor(principal), context.clock()
    return _review(
        context,
        principal,
        response,
        idempotency_key,
        verb="revoke",
        exception_id=exception_id,
        reason=body.reason,
        act=lambda: service.revoke_exception(
            context.engine, exception_id=exception_id, actor=actor, reason=body.reason, now=now
        ),
    )
