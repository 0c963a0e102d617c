"""Audit packets: request a build (idempotent, 202), list, read, download the PDF or bundle, verify."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Path, Query, Request, Response, status
from sqlalchemy.orm import Session

from api.context import ApiContext
from api.deps import ContextDep, CurrentPrincipal, IdempotencyKey, OfficerPrincipal, SessionDep
from api.downloads import PacketFileResponse
from api.errors import NotConfiguredError
from api.middleware import client_address
from api.models import Packet, PacketStatus
from api.parsing import as_of_instant
from api.principal import Principal
from api.routes.convert import packet_out
from api.schemas.common import READ, errors
from api.schemas.packets import PacketOut, PacketPage, PacketRequestBody, PacketVerificationOut
from api.schemas.types import count
from api.services import access_log, oscal_documents, packets
from api.services.verification import verify_packet
from evidence.blobstore import blob_store

router = APIRouter(prefix="/v1/packets", tags=["packets"])
PacketId = Annotated[str, Path(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
_FILE_RESPONSES = {
    200: {
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        "description": "The file, streamed; `Content-Length`, `ETag` and `X-Content-SHA256` as recorded at build",
    },
    304: {"description": "Not modified (If-None-Match matched the ETag)"},
    **errors(*READ, 404, 409),
}


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PacketOut,
    summary="Request a packet build (honours Idempotency-Key)",
    responses=errors(*READ, 400, 404, 409, 413, 503),
)
def request_packet(
    body: PacketRequestBody,
    response: Response,
    context: ContextDep,
    session: SessionDep,
    principal: OfficerPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> PacketOut:
    if context.executors.build_packet is None:
        raise NotConfiguredError("this deployment has no packet builder configured, so it cannot build packets")
    now = context.clock()
    spec = packets.PacketSpec(
        framework=body.framework,
        as_of=as_of_instant(body.as_of, now=now),
        period_from=body.period.from_ if body.period else None,
        period_to=body.period.to if body.period else None,
        accounts=tuple(body.scope.accounts) if body.scope else (),
    )
    packets.validate_spec(spec, frameworks=context.config.frameworks, now=now)
    if context.executors.check_packet is not None:  # refuse now what could only fail in the job
        context.executors.check_packet(
            framework=spec.framework,
            as_of=spec.as_of,
            period_from=spec.period_from,
            period_to=spec.period_to,
            accounts=spec.accounts,
        )
    packet, created = packets.request_packet(
        session, spec=spec, principal=principal, idempotency_key=idempotency_key, now=now
    )
    response.headers["Location"] = f"/v1/packets/{packet.id}"
    if created:
        context.job_queued(packet.job_id or 0)  # request_packet queued its job: job_id is set
    else:
        response.headers["Idempotent-Replayed"] = "true"
    return packet_out(packet, principal)


@router.get("", response_model=PacketPage, summary="List packets, newest first", responses=errors(*READ, 400))
def list_packets(
    context: ContextDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    status: PacketStatus | None = None,
    limit: Annotated[count(1, 500), Query()] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> PacketPage:
    rows, next_cursor = packets.list_packets(
        session, principal=principal, limit=limit, cursor=cursor, codec=context.cursors, status=status
    )
    return PacketPage(items=[packet_out(packet, principal) for packet in rows], next_cursor=next_cursor)


@router.get(
    "/{packet_id}",
    response_model=PacketOut,
    summary="One packet: status, file hashes, signer",
    responses=errors(*READ, 404),
)
def get_packet(packet_id: PacketId, request: Request, session: SessionDep, principal: CurrentPrincipal) -> PacketOut:
    request.state.packet_id = packet_id
    return packet_out(packets.get_packet(session, packet_id=packet_id, principal=principal), principal)


async def _download(
    which: str,
    packet_id: str,
    request: Request,
    context: ApiContext,
    session: Session,
    principal: Principal,
    find: Callable[[Packet], packets.PacketFile] | None = None,
) -> Response:
    """Serve one file of a packet the principal may see (auditors: granted packets only), logged before the first
    byte. `which` names it in the access log (`download.<which>`) and the metrics; `find` locates it (default: the
    PDF or the bundle)."""
    request.state.packet_id = packet_id

    def locate() -> packets.PacketFile:
        try:
            packet = packets.get_packet(session, packet_id=packet_id, principal=principal)
            session.close()  # the connection goes back before hashing a bundle or taking an access log entry
            if find is not None:
                return find(packet)
            return packets.packet_file(packet, which=which, data_dir=context.data_dir, blobs=blob_store(context.engine))
        finally:
            session.close()

    file = await anyio.to_thread.run_sync(locate)
    etag = f'"{file.sha256}"'
    if request.headers.get("if-none-match") in (etag, file.sha256):
        return Response(status_code=304, headers={"etag": etag, "cache-control": "private, no-cache"})
    event = access_log.AccessEvent(
        at=context.clock(),
        principal=principal.name,
        token_id=principal.token_id,
        role=principal.role.value,
        action=f"download.{which}",
        method=request.method,
        path=request.url.path,
        packet_id=packet_id,
        status_code=200,
        client=client_address(request.scope),
        bytes_sent=file.size,
        sha256=file.sha256,
    )
    # Before the first byte: a download whose entry cannot be written is not started (503, nothing sent).
    await anyio.to_thread.run_sync(access_log.record_before_serving, context.engine, event)
    request.state.access_logged = True  # this entry is the request's; the auditor middleware adds none
    return PacketFileResponse(
        file=file, event=event, engine=context.engine, metrics=context.metrics, kind=which, clock=context.clock
    )


@router.get(
    "/{packet_id}/pdf",
    summary="Download the signed PDF (streamed)",
    response_class=Response,
    responses=_FILE_RESPONSES,
)
async def download_pdf(
    packet_id: PacketId, request: Request, context: ContextDep, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    return await _download("pdf", packet_id, request, context, session, principal)


@router.get(
    "/{packet_id}/bundle",
    summary="Download the evidence bundle zip (streamed)",
    response_class=Response,
    responses=_FILE_RESPONSES,
)
async def download_bundle(
    packet_id: PacketId, request: Request, context: ContextDep, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    return await _download("bundle", packet_id, request, context, session, principal)


@router.get(
    "/{packet_id}/oscal/{document}",
    summary="Download one of the packet's OSCAL documents: assessment-results, poam, ssp or catalog (streamed)",
    response_class=Response,
    responses={
        **_FILE_RESPONSES,
        200: {
            "content": {"application/json": {"schema": {}}},
            "description": "The OSCAL JSON document as the bundle holds it; `ETag` and `X-Content-SHA256` carry the "
            "hash its signed manifest records",
        },
    },
)
async def download_oscal(
    packet_id: PacketId,
    document: Annotated[str, Path(max_length=128)],
    request: Request,
    context: ContextDep,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    def find(packet: Packet) -> packets.PacketFile:
        return oscal_documents.oscal_file(
            packet, document=document, data_dir=context.data_dir, blobs=blob_store(context.engine)
        )

    return await _download("oscal", packet_id, request, context, session, principal, find)


@router.get(
    "/{packet_id}/verify",
    response_model=PacketVerificationOut,
    summary="Re-hash the packet's files and validate their signatures",
    responses=errors(*READ, 404, 409),
)
def verify(
    packet_id: PacketId, request: Request, context: ContextDep, session: SessionDep, principal: CurrentPrincipal
) -> PacketVerificationOut:
    request.state.packet_id = packet_id
    packet = packets.get_packet(session, packet_id=packet_id, principal=principal)
    session.close()  # hashing and signature checks take seconds: no connection is held meanwhile
    check = verify_packet(
        packet, data_dir=context.data_dir, verifier=context.executors.verify_packet, blobs=blob_store(context.engine)
    )
    return PacketVerificationOut.model_validate(check)
