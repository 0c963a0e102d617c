"""Customer evidence items and exceptions for the API: who acts, what an auditor may read, and signed cursors.

Every rule about submitting and reviewing lives in `evidence.customer.service` (the one service layer the CLI and
the UI call too); this module only turns a token principal into its `Actor`, narrows reads to what an auditor's
granted packets list (`Packet.customer_item_ids` / `exception_ids`; anything else is 404, as for an unknown id),
and keeps the service's keyset positions inside signed cursors. A cursor also carries the moment its first page
was read as of, so paging through a list without `as_of` reads every page at that one moment.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from sqlalchemy import Engine

from api.principal import Principal
from api.services import cursor as cursors
from core.canonical import rfc3339
from core.errors import InputError, NotFoundError
from evidence.customer import service
from evidence.customer.types import CustomerItem, ExceptionState, ItemKind, ItemState, RiskException


def actor(principal: Principal) -> service.Actor:
    """The token principal as the service's actor: its label is the name reviews and submissions record."""
    return service.Actor(name=principal.name, role=service.Role(principal.role.value))


@dataclass(frozen=True, slots=True)
class Submission:
    """An upload as the service takes it (validated by `api.customer_forms`); `file` is spooled on disk."""

    kind: ItemKind
    title: str
    controls: tuple[str, ...]
    owner: str
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    supersedes: int | None = None
    statement: str | None = None
    statement_by: str | None = None
    url: str | None = None
    file: BinaryIO | None = field(default=None, compare=False)
    filename: str | None = None
    file_sha256: str | None = None

    def fingerprint(self) -> dict[str, Any]:
        """Everything that shapes the stored item (the file by its hash), for Idempotency-Key comparison."""
        data = {name: getattr(self, name) for name in self.__slots__ if name != "file"}  # type: ignore[attr-defined]
        data["controls"] = list(self.controls)
        for name in ("valid_from", "valid_until"):
            data[name] = rfc3339(data[name]) if data[name] else None
        return data


def submit(
    engine: Engine, *, policy: service.CustomerPolicy, actor: service.Actor, submission: Submission, now: datetime
) -> CustomerItem:
    """The submission through the service function of its kind (which checks everything about it)."""
    s = submission
    common: dict[str, Any] = {
        "policy": policy,
        "actor": actor,
        "title": s.title,
        "controls": list(s.controls),
        "owner": s.owner,
        "valid_from": s.valid_from,
        "valid_until": s.valid_until,
        "supersedes": s.supersedes,
        "now": now,
    }
    if s.kind is ItemKind.ATTESTATION:
        return service.submit_attestation(
            engine, statement=s.statement or "", statement_by=s.statement_by or "", **common
        )
    if s.file is None:  # pragma: no cover - api.customer_forms refuses this first
        raise InputError(f"a {s.kind} needs its content as the 'file' part")
    if s.kind is ItemKind.RECORD:
        return service.submit_record(engine, url=s.url or "", stream=s.file, filename=s.filename, **common)
    return service.submit_document(engine, stream=s.file, filename=s.filename, **common)


def get_item(engine: Engine, *, item_id: int, principal: Principal) -> CustomerItem:
    visible = principal.item_ids
    if visible is not None and item_id not in visible:
        raise NotFoundError(f"customer evidence item {item_id} does not exist")
    return service.get_item(engine, item_id)


def get_exception(engine: Engine, *, exception_id: int, principal: Principal) -> RiskException:
    visible = principal.exception_ids
    if visible is not None and exception_id not in visible:
        raise NotFoundError(f"exception {exception_id} does not exist")
    return service.get_exception(engine, exception_id)


@dataclass(frozen=True, slots=True)
class ItemFilter:
    as_of: datetime | None = None  # None: now (the first page's now, for the following pages)
    control: str | None = None
    state: ItemState | None = None
    kind: ItemKind | None = None
    expiring_within: timedelta | None = None

    def fingerprint(self) -> dict[str, Any]:
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat() if self.as_of else None
        data["expiring_within"] = self.expiring_within.total_seconds() if self.expiring_within else None
        return {"resource": "evidence-items", **{k: str(v) if v is not None else None for k, v in data.items()}}


@dataclass(frozen=True, slots=True)
class ExceptionFilter:
    as_of: datetime | None = None
    state: ExceptionState | None = None
    check_id: str | None = None

    def fingerprint(self) -> dict[str, Any]:
        return {
            "resource": "exceptions",
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "state": str(self.state) if self.state else None,
            "check_id": self.check_id,
        }


def list_items(
    engine: Engine,
    *,
    filters: ItemFilter,
    principal: Principal,
    limit: int,
    cursor: str | None,
    codec: cursors.CursorCodec,
    now: datetime,
) -> tuple[list[CustomerItem], datetime, str | None]:
    """A page of the items visible to `principal`, the moment their states are as of, and the next cursor."""
    moment, after = _position(cursor, codec, filters.fingerprint(), filters.as_of or now)
    page = service.list_items(
        engine,
        as_of=moment,
        control=filters.control,
        state=filters.state,
        kind=filters.kind,
        expiring_within=filters.expiring_within,
        ids=principal.item_ids,
        after_id=after,
        limit=limit,
    )
    return list(page.rows), moment, _next(page.next_cursor, moment, codec, filters.fingerprint())


def list_exceptions(
    engine: Engine,
    *,
    filters: ExceptionFilter,
    principal: Principal,
    limit: int,
    cursor: str | None,
    codec: cursors.CursorCodec,
    now: datetime,
) -> tuple[list[RiskException], datetime, str | None]:
    """A page of the exceptions visible to `principal`, the moment their states are as of, and the next cursor."""
    moment, after = _position(cursor, codec, filters.fingerprint(), filters.as_of or now)
    page = service.list_exceptions(
        engine,
        as_of=moment,
        state=filters.state,
        check_id=filters.check_id,
        ids=principal.exception_ids,
        after_id=after,
        limit=limit,
    )
    return list(page.rows), moment, _next(page.next_cursor, moment, codec, filters.fingerprint())


def _position(
    cursor: str | None, codec: cursors.CursorCodec, filters: dict[str, Any], first: datetime
) -> tuple[datetime, int | None]:
    if not cursor:
        return first, None
    position = codec.decode(cursor, filters=filters)
    return cursors.instant_position(position, "as_of"), cursors.int_position(position, "after")


def _next(after: int | None, moment: datetime, codec: cursors.CursorCodec, filters: dict[str, Any]) -> str | None:
    if after is None:
        return None
    return codec.encode({"after": after, "as_of": rfc3339(moment)}, filters=filters)
