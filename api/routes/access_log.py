"""The access log: a packet's entries, the whole chain exported (NDJSON or CSV), and its verification."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import iterate_in_threadpool

from api.deps import ContextDep, OfficerPrincipal, SessionDep
from api.routes.packets import PacketId
from api.schemas.access_log import AccessLogEntryOut, AccessLogPage
from api.schemas.common import READ, errors
from api.schemas.types import count
from api.services import access_log, packets
from api.services import cursor as cursors

router = APIRouter(tags=["access log"])


class ExportFormat(StrEnum):
    ndjson = "ndjson"
    csv = "csv"


class ChainVerificationOut(BaseModel):
    intact: bool = Field(description="Every entry hashes to its stored hash and links to the one before it.")
    checked: int
    head: str | None = Field(description="The last entry's hash: record it to detect later truncation.")
    problems: list[str]


@router.get(
    "/v1/packets/{packet_id}/access-log",
    response_model=AccessLogPage,
    summary="Who downloaded or requested this packet, oldest first",
    responses=errors(*READ, 400, 404),
)
def packet_access_log(
    packet_id: PacketId,
    context: ContextDep,
    session: SessionDep,
    principal: OfficerPrincipal,
    limit: Annotated[count(1, 1000), Query()] = 100,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> AccessLogPage:
    packets.get_packet(session, packet_id=packet_id, principal=principal)
    filters = {"packet_id": packet_id}
    codec = context.cursors
    after = cursors.int_position(codec.decode(cursor, filters=filters), "after") if cursor else 0
    rows = access_log.entries(session, packet_id=packet_id, after_seq=after, limit=limit + 1)
    next_cursor = codec.encode({"after": rows[limit - 1].seq}, filters=filters) if len(rows) > limit else None
    return AccessLogPage(items=[AccessLogEntryOut.model_validate(r) for r in rows[:limit]], next_cursor=next_cursor)


@router.get(
    "/v1/access-log/export",
    summary="The whole access log in chain order, streamed as NDJSON or CSV (verifiable offline)",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {
                "application/x-ndjson": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
            },
            "description": "One entry per line, with every chained field and its hash",
        },
        **errors(*READ, 404),
    },
)
def export_access_log(
    context: ContextDep, _principal: OfficerPrincipal, format: ExportFormat = ExportFormat.ndjson
) -> StreamingResponse:
    records = access_log.iter_records(context.engine)
    if format is ExportFormat.csv:
        lines, media = access_log.csv_lines(records), "text/csv; charset=utf-8"
    else:
        lines, media = access_log.ndjson_lines(records), "application/x-ndjson"
    return StreamingResponse(
        iterate_in_threadpool(line.encode("utf-8") for line in lines),
        media_type=media,
        headers={"content-disposition": f'attachment; filename="auditpack-access-log.{format.value}"'},
    )


@router.get(
    "/v1/access-log/verify",
    response_model=ChainVerificationOut,
    summary="Recompute the access log's hash chain",
    responses=errors(*READ, 404),
)
def verify_access_log(
    context: ContextDep,
    _principal: OfficerPrincipal,
    expected_head: Annotated[
        str | None, Query(pattern=r"^[0-9a-f]{64}$", description="A head recorded earlier.")
    ] = None,
) -> ChainVerificationOut:
    result = access_log.verify_database(context.engine, expected_head=expected_head)
    return ChainVerificationOut(
        intact=result.intact, checked=result.checked, head=result.head, problems=[str(p) for p in result.problems]
    )
