"""Customer evidence items: upload (multipart, streamed to disk), list, read, download the content, review.

Officers and admins submit and review (never their own submission: 403); auditors read only the items their
granted packets list. Every rule is `evidence.customer.service`'s; these routes read the request and answer.
"""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Path, Query, Request, Response, status

from api import customer_forms
from api.customer_downloads import content_response
from api.deps import ContextDep, CurrentPrincipal, IdempotencyKey, OfficerPrincipal
from api.middleware import client_address
from api.parsing import as_of_instant
from api.schemas.common import READ, errors
from api.schemas.customer import UPLOAD_SCHEMA, ItemOut, ItemPage, ReasonBody
from api.schemas.types import Duration, Id, InstantOrDay, count, free_text
from api.services import access_log, customer, idempotency
from api.uploads import UPLOADS_DIR, read_upload
from evidence.customer import service
from evidence.customer.types import CustomerItem, ItemKind, ItemState

router = APIRouter(prefix="/v1/evidence-items", tags=["customer evidence"])
ItemId = Annotated[Id, Path(description="The item's id.")]  # type: ignore[valid-type]
PATH = "/v1/evidence-items"
_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": UPLOAD_SCHEMA,
                "encoding": {"controls": {"style": "form", "explode": True}},
            }
        },
    }
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ItemOut,
    summary="Submit a document, attestation or record (multipart; honours Idempotency-Key)",
    description="The file part streams to disk and is refused with 413 as soon as it passes "
    "AUDITPACK_EVIDENCE_MAX_BYTES; its type is sniffed from the bytes (415 when not accepted).",
    responses=errors(*READ, 400, 404, 409, 413, 415),
    openapi_extra=_UPLOAD_BODY,
)
async def submit_item(
    request: Request,
    response: Response,
    context: ContextDep,
    principal: OfficerPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> ItemOut:
    policy = context.customer_policy
    assert policy is not None  # the router is mounted only with a policy
    upload = await read_upload(
        request,
        directory=context.data_dir / UPLOADS_DIR,
        max_file_bytes=policy.max_bytes,
        max_field_bytes=context.config.max_body_bytes,
    )
    try:
        submission = customer_forms.submission(upload)
        now = context.clock()

        def submit() -> tuple[CustomerItem, bool]:
            return idempotency.once(
                context.sessions,
                principal=principal,
                key=idempotency_key,
                request_sha256=idempotency.fingerprint(f"POST {PATH}", submission.fingerprint()),
                now=now,
                work=lambda: customer.submit(
                    context.engine, policy=policy, actor=customer.actor(principal), submission=submission, now=now
                ),
                produced=lambda item: item.id,
                replay=lambda item_id: service.get_item(context.engine, item_id),
            )

        item, created = await anyio.to_thread.run_sync(submit)
    finally:
        upload.close()
    response.headers["Location"] = f"{PATH}/{item.id}"
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return ItemOut.of(item, context.clock())


@router.get(
    "",
    response_model=ItemPage,
    summary="List customer evidence items in id order (auditors: only those their packets list)",
    responses=errors(*READ, 400),
)
def list_items(
    context: ContextDep,
    principal: CurrentPrincipal,
    control: Annotated[free_text(300) | None, Query(description="FRAMEWORK:CONTROL_ID")] = None,  # type: ignore[valid-type]
    state: Annotated[ItemState | None, Query(description="The state as of `as_of`.")] = None,
    kind: ItemKind | None = None,
    expiring_within: Annotated[
        Duration | None, Query(description="Approved items whose validity ends within this, e.g. 30d.")
    ] = None,
    as_of: Annotated[
        InstantOrDay | None, Query(description="States as of this moment (a day: its end, UTC); default now.")
    ] = None,
    limit: Annotated[count(1, 500), Query()] = 100,  # type: ignore[valid-type]
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> ItemPage:
    now = context.clock()
    filters = customer.ItemFilter(
        as_of=as_of_instant(as_of, now=now),
        control=control,
        state=state,
        kind=kind,
        expiring_within=expiring_within,
    )
    items, moment, next_cursor = customer.list_items(
        context.engine,
        filters=filters,
        principal=principal,
        limit=limit,
        cursor=cursor,
        codec=context.cursors,
        now=now,
    )
    return ItemPage(items=[ItemOut.of(item, moment) for item in items], next_cursor=next_cursor)


@router.get(
    "/{item_id}",
    response_model=ItemOut,
    summary="One item with its review history",
    responses=errors(*READ, 404),
)
def get_item(item_id: ItemId, context: ContextDep, principal: CurrentPrincipal) -> ItemOut:
    item = customer.get_item(context.engine, item_id=item_id, principal=principal)
    return ItemOut.of(item, context.clock())


@router.get(
    "/{item_id}/content",
    summary="Download the item's content (streamed; logged in the access log before the first byte)",
    response_class=Response,
    responses={
        200: {
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The content with its sniffed Content-Type, `Content-Length`, `ETag`, `X-Content-SHA256` "
            "and a `Content-Disposition` with the sanitised file name",
        },
        304: {"description": "Not modified (If-None-Match matched the ETag)"},
        **errors(*READ, 404, 503),
    },
)
async def download_content(
    item_id: ItemId, request: Request, context: ContextDep, principal: CurrentPrincipal
) -> Response:
    item = await anyio.to_thread.run_sync(
        lambda: customer.get_item(context.engine, item_id=item_id, principal=principal)
    )
    etag = f'"{item.content_sha256}"'
    if request.headers.get("if-none-match") in (etag, item.content_sha256):
        return Response(status_code=304, headers={"etag": etag, "cache-control": "private, no-cache"})
    event = access_log.AccessEvent(
        at=context.clock(),
        principal=principal.name,
        token_id=principal.token_id,
        role=principal.role.value,
        action="download.customer_evidence",
        method=request.method,
        path=request.url.path,
        packet_id=None,
        status_code=200,
        client=client_address(request.scope),
        bytes_sent=item.size,
        sha256=item.content_sha256,
    )
    # Before the first byte: a download whose entry cannot be written is not started (503, nothing sent).
    await anyio.to_thread.run_sync(access_log.record_before_serving, context.engine, event)
    request.state.access_logged = True
    return content_response(item, engine=context.engine, event=event, clock=context.clock)


def _review(
    context: ContextDep,
    principal: OfficerPrincipal,
    response: Response,
    key: str | None,
    *,
    verb: str,
    item_id: int,
    reason: str | None,
) -> ItemOut:
    actor = customer.actor(principal)
    now = context.clock()
    actions = {
        "approve": lambda: service.approve(context.engine, item_id=item_id, actor=actor, now=now),
        "reject": lambda: service.reject(context.engine, item_id=item_id, actor=actor, reason=reason or "", now=now),
        "retract": lambda: service.retract(context.engine, item_id=item_id, actor=actor, reason=reason or "", now=now),
    }
    item, done_now = idempotency.once(
        context.sessions,
        principal=principal,
        key=key,
        request_sha256=idempotency.fingerprint(f"POST {PATH}/{{id}}/{verb}", {"id": item_id, "reason": reason}),
        now=now,
        work=actions[verb],
        produced=lambda item: item.id,
        replay=lambda _id: service.get_item(context.engine, item_id),
    )
    if not done_now:
        response.headers["Idempotent-Replayed"] = "true"
    return ItemOut.of(item, context.clock())


_REVIEW_ERRORS = errors(*READ, 400, 403, 404, 409)


@router.post(
    "/{item_id}/approve",
    response_model=ItemOut,
    summary="Approve a submitted item (not your own; honours Idempotency-Key)",
    responses=_REVIEW_ERRORS,
)
def approve_item(
    item_id: ItemId,
    response: Response,
    context: ContextDep,
    principal: OfficerPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> ItemOut:
    return _review(context, principal, response, idempotency_key, verb="approve", item_id=item_id, reason=None)


@router.post(
    "/{item_id}/reject",
    response_model=ItemOut,
    summary="Reject a submitted item, saying why (not your own; honours Idempotency-Key)",
    responses=_REVIEW_ERRORS,
)
def reject_item(
    item_id: ItemId,
    body: ReasonBody,
    response: Response,
    context: ContextDep,
    principal: OfficerPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> ItemOut:
    return _review(context, principal, response, idempotency_key, verb="reject", item_id=item_id, reason=body.reason)


@router.post(
    "/{item_id}/retract",
    response_model=ItemOut,
    summary="Withdraw a submitted or approved item (its submitter or an admin; honours Idempotency-Key)",
    responses=_REVIEW_ERRORS,
)
def retract_item(
    item_id: ItemId,
    body: ReasonBody,
    response: Response,
    context: ContextDep,
    principal: OfficerPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> ItemOut:
    return _review(context, principal, response, idempotency_key, verb="retract", item_id=item_id, reason=body.reason)
