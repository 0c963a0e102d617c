"""Evidence: an AWS payload with its SHA-256; customer evidence items (upload, attest, approve, reject,
retract, download) and exceptions (request, approve, reject, revoke). Every action is the API's route function
with the same request model, so the rules (four eyes, validity, size and type limits) are the service's."""

from __future__ import annotations

import json
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from api import customer_forms
from api.deps import ContextDep, SessionDep
from api.routes import evidence as api_evidence
from api.routes import evidence_items as api_items
from api.routes import exceptions as api_exceptions
from api.schemas.customer import ExceptionRequestBody, ReasonBody
from api.schemas.types import Id
from api.services import customer, idempotency
from api.ui import forms
from api.ui.deps import Csrf, UiOfficer, UiPrincipal
from api.ui.render import page
from api.ui.security import CSRF_FIELD, check_csrf
from api.uploads import UPLOADS_DIR, read_upload
from core.errors import NotFoundError
from evidence.customer import service

router = APIRouter()
Sha256 = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
ItemId = Annotated[Id, Path()]  # type: ignore[valid-type]
Verb = Annotated[str, Path(pattern=r"^(approve|reject|retract|revoke)$")]


@router.get("/evidence/{sha256}")
async def payload(
    sha256: Sha256, request: Request, context: ContextDep, session: SessionDep, principal: UiPrincipal
) -> Response:
    """The payload as stored (logged as a download of it, as in the API), pretty-printed for reading."""
    served = await api_evidence.get_payload(sha256, request, context, session, principal)
    data = bytes(served.body)
    pretty = json.dumps(json.loads(data), indent=2, ensure_ascii=False, sort_keys=True)
    return page(request, "payload.html", {"sha256": sha256, "size": len(data), "pretty": pretty})


@router.get("/evidence/{sha256}/raw")
async def payload_raw(
    sha256: Sha256, request: Request, context: ContextDep, session: SessionDep, principal: UiPrincipal
) -> Response:
    served = await api_evidence.get_payload(sha256, request, context, session, principal)
    served.headers["content-disposition"] = f'attachment; filename="{sha256}.json"'
    return served


@router.get("/evidence-items/{item_id}")
def item(item_id: ItemId, request: Request, context: ContextDep, principal: UiPrincipal) -> Response:
    shown = customer.get_item(context.engine, item_id=item_id, principal=principal)
    return page(request, "item.html", {"item": shown, "now": context.clock()})


@router.get("/evidence-items/{item_id}/content")
async def content(item_id: ItemId, request: Request, context: ContextDep, principal: UiPrincipal) -> Response:
    return await api_items.download_content(item_id, request, context, principal)


@router.post("/evidence-items")
async def upload(request: Request, context: ContextDep, principal: UiOfficer) -> Response:
    """A document, record or attestation from the control page's forms: streamed to disk under the same limits
    as the API's upload (`api.uploads`), read by the same form reader, submitted through the same service."""
    policy = context.customer_policy
    if policy is None:
        raise NotFoundError("this deployment does not take customer evidence")
    upload = await read_upload(
        request,
        directory=context.data_dir / UPLOADS_DIR,
        max_file_bytes=policy.max_bytes,
        max_field_bytes=context.config.max_body_bytes,
    )
    try:
        presented = upload.fields.pop(CSRF_FIELD, [None])[0]
        check_csrf(request, expected=request.state.csrf, presented=presented)  # before anything is stored
        target = forms.local(upload.fields.pop("next", [None])[0], "/ui/")
        key = upload.fields.pop("request_key", [None])[0]
        upload.fields = {name: [v for v in values if v.strip()] for name, values in upload.fields.items()}
        upload.fields = {name: values for name, values in upload.fields.items() if values}
        if upload.file is not None and upload.size == 0 and not upload.filename:
            upload.close()  # a file field left empty: no file
            upload.file = None
        submission = customer_forms.submission(upload)
        now = context.clock()

        def submit() -> Any:
            return idempotency.once(
                context.sessions,
                principal=principal,
                key=key,
                request_sha256=idempotency.fingerprint(f"POST {api_items.PATH}", submission.fingerprint()),
                now=now,
                work=lambda: customer.submit(
                    context.engine, policy=policy, actor=customer.actor(principal), submission=submission, now=now
                ),
                produced=lambda item: item.id,
                replay=lambda item_id: service.get_item(context.engine, item_id),
            )

        created, _ = await anyio.to_thread.run_sync(submit)
    finally:
        upload.close()
    return forms.done(
        request, target, f"Submitted item {created.id} ({created.kind}): it awaits another officer's review."
    )


@router.post("/evidence-items/{item_id}/{verb}", dependencies=[Csrf])
async def review_item(
    item_id: ItemId, verb: Verb, request: Request, context: ContextDep, principal: UiOfficer
) -> Response:
    form = await request.form()
    data = forms.fields(form)
    target = forms.local(form.get("next"), f"/ui/evidence-items/{item_id}")

    def act() -> Any:
        if verb == "approve":
            return api_items.approve_item(item_id, Response(), context, principal)
        body = forms.parse(ReasonBody, data)
        if verb == "reject":
            return api_items.reject_item(item_id, body, Response(), context, principal)
        if verb == "retract":
            return api_items.retract_item(item_id, body, Response(), context, principal)
        raise NotFoundError("there is no such action on an evidence item")

    reviewed = await anyio.to_thread.run_sync(act)
    return forms.done(request, target, f"Item {reviewed.id} is now {reviewed.state}.")


@router.post("/exceptions", dependencies=[Csrf])
async def request_exception(request: Request, context: ContextDep, principal: UiOfficer) -> Response:
    form = await request.form()
    data = forms.fields(form)
    target = forms.local(form.get("next"), "/ui/")
    key = data.pop("request_key", None)
    scope, ref = data.pop("scope", None), data.pop("control_ref", None)
    if scope == "control":  # the form names the control it is on; the service checks it exists
        data["control"] = ref
    elif scope is not None:
        data["check_id"] = scope
    resources = data.pop("resource_ids", None)
    if isinstance(resources, str):
        data["resource_ids"] = [line.strip() for line in resources.splitlines() if line.strip()]
    body = forms.parse(ExceptionRequestBody, data)
    if context.customer_policy is None:
        raise NotFoundError("this deployment does not take exceptions")
    created = await anyio.to_thread.run_sync(
        lambda: api_exceptions.request_exception(
            body, Response(), context, principal, idempotency_key=key if isinstance(key, str) else None
        )
    )
    return forms.done(request, target, f"Exception {created.id} requested: it awaits another officer's approval.")


@router.post("/exceptions/{exception_id}/{verb}", dependencies=[Csrf])
async def review_exception(
    exception_id: ItemId, verb: Verb, request: Request, context: ContextDep, principal: UiOfficer
) -> Response:
    form = await request.form()
    data = forms.fields(form)
    target = forms.local(form.get("next"), "/ui/")

    def act() -> Any:
        if verb == "approve":
            return api_exceptions.approve_exception(exception_id, Response(), context, principal)
        body = forms.parse(ReasonBody, data)
        if verb == "reject":
            return api_exceptions.reject_exception(exception_id, body, Response(), context, principal)
        if verb == "revoke":
            return api_exceptions.revoke_exception(exception_id, body, Response(), context, principal)
        raise NotFoundError("there is no such action on an exception")

    reviewed = await anyio.to_thread.run_sync(act)
    return forms.done(request, target, f"Exception {reviewed.id} is now {reviewed.state}.")
