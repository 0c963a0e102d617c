"""Evidence listing with filters and keyset pagination, and canonical payload bytes by content address."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, literal, select, tuple_
from sqlalchemy.orm import Session

from api.principal import Principal
from api.services import cursor as cursors
from api.services.auditor_scope import restrict, visible_evidence
from core.canonical import rfc3339, sha256_hex
from core.database import UTCDateTime
from core.errors import NotFoundError, VerificationError
from evidence.blobstore import blob_store
from evidence.models import Blob, Evidence
from evidence.store import decode_blob


@dataclass(frozen=True, slots=True)
class EvidenceFilter:
    run_id: int | None = None
    account_id: str | None = None
    region: str | None = None
    service: str | None = None
    kind: str | None = None
    resource_type: str | None = None
    observed_from: datetime | None = None  # inclusive
    observed_to: datetime | None = None  # exclusive

    def as_key(self) -> dict[str, object]:
        key = asdict(self)
        for name in ("observed_from", "observed_to"):
            if key[name] is not None:
                key[name] = rfc3339(key[name])
        return key


def page_evidence(
    session: Session,
    *,
    filters: EvidenceFilter,
    principal: Principal,
    limit: int,
    cursor: str | None,
    codec: cursors.CursorCodec,
) -> tuple[list[Row[Any]], str | None]:
    """Newest observation first, ties by id. Auditors see only their packets' runs and accounts (auditor_scope).

    Rows are plain (Core) rows with the evidence columns as attributes: a page is read-only, and skipping the
    ORM's identity map halves the time per page."""
    key = filters.as_key()
    query = select(Evidence.__table__)
    if cursor:
        position = codec.decode(cursor, filters=key)
        at, before = cursors.instant_position(position, "at"), cursors.int_position(position, "before")
        query = query.where(
            tuple_(Evidence.observed_at, Evidence.id)
            < tuple_(literal(at, UTCDateTime()), literal(before, Evidence.id.type))
        )
    query = restrict(query, visible_evidence(principal))
    for column, value in (
        (Evidence.run_id, filters.run_id),
        (Evidence.account_id, filters.account_id),
        (Evidence.region, filters.region),
        (Evidence.service, filters.service),
        (Evidence.kind, filters.kind),
        (Evidence.resource_type, filters.resource_type),
    ):
        if value is not None:
            query = query.where(column == value)
    if filters.observed_from is not None:
        query = query.where(Evidence.observed_at >= filters.observed_from)
    if filters.observed_to is not None:
        query = query.where(Evidence.observed_at < filters.observed_to)
    rows = list(session.execute(query.order_by(Evidence.observed_at.desc(), Evidence.id.desc()).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, codec.encode({"at": rfc3339(last.observed_at), "before": last.id}, filters=key)


def payload_bytes(session: Session, *, sha256: str, principal: Principal) -> bytes:
    """The canonical JSON bytes stored under `sha256`; for an auditor only if evidence it may see names it."""
    missing = NotFoundError(f"no evidence payload with sha256 {sha256}")
    visible = visible_evidence(principal)
    if visible is not None:  # an auditor: an evidence row of its packets' runs and accounts must name this payload
        named = session.scalar(select(Evidence.id).where(Evidence.sha256 == sha256, visible).limit(1))
        if named is None:
            raise missing
    blob = session.get(Blob, sha256)
    if blob is None:
        raise missing
    store = blob_store(session.get_bind())  # type: ignore[arg-type]
    if store.external:
        return store.get(sha256)  # checked against its hash; a missing object is a VerificationError
    data = decode_blob(blob.data)
    actual = sha256_hex(data)
    if actual != sha256:  # never serve altered evidence under its original address
        raise VerificationError(f"the stored payload {sha256} was altered: its content hashes to {actual}")
    return data
