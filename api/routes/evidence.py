"""Evidence: list with filters and keyset pagination; fetch a payload's canonical bytes by its SHA-256."""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Path, Query, Request, Response

from api.deps import ContextDep, CurrentPrincipal, SessionDep
from api.middleware import client_address
from api.schemas.common import READ, errors
from api.schemas.evidence import EvidenceOut, EvidencePage
from api.schemas.types import AccountId, Id, Instant, count
from api.services import access_log, evidence

router = APIRouter(prefix="/v1/evidence", tags=["evidence"])
# Filters are names (services, kinds, regions, resource types): printable ASCII only, so nothing a database
# refuses (PostgreSQL rejects NUL in text) reaches a query as a 500.
Text = Annotated[str | None, Query(min_length=1, max_length=128, pattern=r"^[\x20-\x7e]+$")]


@router.get(
    "",
    response_model=EvidencePage,
    summary="List evidence, newest first (auditors: only their packets' evidence)",
    responses=errors(*READ, 400),
)
def list_evidence(
    context: ContextDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    run_id: Annotated[Id | None, Query()] = None,
    account: Annotated[AccountId | None, Query()] = None,
    region: Text = None,
    service: Text = None,
    kind: Text = None,
    resource_type: Text = None,
    observed_from: Annotated[Instant | None, Query(description="Inclusive, RFC 3339 with a zone.")] = None,
    observed_to: Annotated[Instant | None, Query(description="Exclusive, RFC 3339 with a zone.")] = None,
    limit: Annotated[count(1, 1000), Query()] = 100,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> EvidencePage:
    filters = evidence.EvidenceFilter(
        run_id=run_id,
        account_id=account,
        region=region,
        service=service,
        kind=kind,
        resource_type=resource_type,
        observed_from=observed_from,
        observed_to=observed_to,
    )
    rows, next_cursor = evidence.page_evidence(
        session, filters=filters, principal=principal, limit=limit, cursor=cursor, codec=context.cursors
    )
    return EvidencePage(items=[EvidenceOut.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get(
    "/{sha256}",
    summary="The canonical JSON payload stored under this SHA-256 (logged as a download)",
    response_class=Response,
    responses={
        200: {
            "content": {"application/json": {"schema": {}}},
            "description": "The payload's canonical bytes; `X-Content-SHA256` and `ETag` carry their hash",
        },
        **errors(*READ, 404),
    },
)
async def get_payload(
    sha256: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")],
    request: Request,
    context: ContextDep,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Response:
    def read() -> bytes:
        try:
            return evidence.payload_bytes(session, sha256=sha256, principal=principal)
        finally:
            session.close()  # the connection goes back before the access log takes one

    data = await anyio.to_thread.run_sync(read)
    event = access_log.AccessEvent(
        at=context.clock(),
        principal=principal.name,
        token_id=principal.token_id,
        role=principal.role.value,
        action="download.evidence",
        method=request.method,
        path=request.url.path,
        packet_id=None,
        status_code=200,
        client=client_address(request.scope),
        bytes_sent=len(data),
        sha256=sha256,
    )
    # Logged before it is served: if the entry cannot be written, nothing is (503).
    await anyio.to_thread.run_sync(access_log.record_before_serving, context.engine, event)
    request.state.access_logged = True
    return Response(
        data,
        media_type="application/json",
        headers={"etag": f'"{sha256}"', "x-content-sha256": sha256},
    )
