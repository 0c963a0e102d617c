"""Customer evidence items and exceptions: the upload form, the request bodies and the responses.

Dates the client gives for when something stops (valid_until, expires_at) or starts (valid_from) are RFC 3339
instants with a zone, or `YYYY-MM-DD` meaning 00:00 UTC that day, as on the command line.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field, StringConstraints

from api.schemas.common import Model, StrictInput
from api.schemas.types import AccountId, Id, InstantOrDay, free_text, text_block
from evidence.customer.types import CustomerItem, ItemKind, ReviewEvent, RiskException

ControlText = free_text(300)  # FRAMEWORK:CONTROL_ID, checked against the loaded catalogs by the service
CheckId = Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]{1,128}$")]
_MOMENT = "RFC 3339 with a zone, or YYYY-MM-DD for 00:00 UTC that day"


def start_of(value: dt.datetime | dt.date | None) -> dt.datetime | None:
    """A parsed moment: a day is its first instant (UTC), as `--valid-until` and `--expires` read it."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time(0), tzinfo=dt.UTC)


class UploadForm(StrictInput):
    """The text fields of `POST /v1/evidence-items` (multipart/form-data; the file is the part named `file`)."""

    kind: ItemKind
    title: free_text(300)  # type: ignore[valid-type]
    controls: list[ControlText] = Field(min_length=1, max_length=100)  # type: ignore[valid-type]
    owner: free_text(256)  # type: ignore[valid-type]
    valid_from: InstantOrDay | None = None
    valid_until: InstantOrDay | None = None
    supersedes: Id | None = None  # type: ignore[valid-type]
    statement: text_block(20000) | None = None  # type: ignore[valid-type]
    statement_by: free_text(300) | None = None  # type: ignore[valid-type]
    url: free_text(2048) | None = None  # type: ignore[valid-type]


# The multipart request body as OpenAPI shows it (the route reads the stream itself, see api.uploads).
UPLOAD_SCHEMA = {
    "type": "object",
    "required": ["kind", "title", "controls", "owner"],
    "properties": {
        "kind": {"type": "string", "enum": [kind.value for kind in ItemKind]},
        "title": {"type": "string", "maxLength": 300},
        "controls": {
            "type": "array",
            "items": {"type": "string", "maxLength": 300},
            "minItems": 1,
            "description": "FRAMEWORK:CONTROL_ID, one part per control (e.g. soc2:CC6.1)",
        },
        "owner": {"type": "string", "maxLength": 256},
        "valid_from": {"type": "string", "description": f"When it starts being valid: {_MOMENT}; default now"},
        "valid_until": {
            "type": "string",
            "description": f"When it stops being valid: {_MOMENT}; default the kind's validity from valid_from",
        },
        "supersedes": {"type": "integer", "minimum": 1, "description": "The earlier version this one replaces"},
        "statement": {"type": "string", "description": "attestation: the statement"},
        "statement_by": {"type": "string", "description": 'attestation: who makes it, "Name, role"'},
        "url": {"type": "string", "description": "record: where the record lives (http or https)"},
        "file": {
            "type": "string",
            "format": "binary",
            "description": "document and record: the content (PDF, PNG, JPEG, DOCX, XLSX, text, CSV, JSON, "
            "Markdown; sniffed from the bytes); not for attestations",
        },
    },
}


class ReasonBody(StrictInput):
    reason: free_text(2000) = Field(description="Why (recorded in the history).")  # type: ignore[valid-type]


class ExceptionRequestBody(StrictInput):
    check_id: CheckId | None = Field(default=None, description="The check whose failures are accepted.")
    control: ControlText | None = Field(default=None, description="Or a control, FRAMEWORK:CONTROL_ID.")  # type: ignore[valid-type]
    resource_ids: list[free_text(2048)] = Field(  # type: ignore[valid-type]
        default_factory=list, max_length=1000, description="Only these resources of the check (empty: all)."
    )
    account_id: AccountId | None = Field(default=None, description="Only this account's resources of the check.")
    justification: text_block(4000) = Field(description="Why the risk is accepted: at least 30 characters.")  # type: ignore[valid-type]
    compensating: text_block(4000) = Field(description="The compensating controls in place.")  # type: ignore[valid-type]
    expires_at: InstantOrDay = Field(description=f"When the acceptance ends: {_MOMENT}.")


class EventOut(Model):
    id: int
    state: str
    actor: str
    at: dt.datetime
    reason: str | None

    @classmethod
    def of(cls, event: ReviewEvent) -> EventOut:
        return cls(id=event.id, state=event.state, actor=event.actor, at=event.at, reason=event.reason)


class ContentOut(Model):
    sha256: str
    media_type: str = Field(description="Sniffed from the bytes when it was submitted.")
    size: int
    filename: str | None = Field(description="The submitted file name, made safe for display; never a path.")
    url: str = Field(description="Where to download it (logged in the access log).")


class ItemOut(Model):
    id: int
    kind: str = Field(description="document | attestation | record")
    state: str | None = Field(description="submitted | approved | rejected | retracted | expired, as of `as_of`.")
    as_of: dt.datetime
    title: str
    controls: list[str]
    owner: str
    submitted_by: str
    submitted_at: dt.datetime
    valid_from: dt.datetime
    valid_until: dt.datetime
    content: ContentOut
    supersedes: int | None
    superseded_by: int | None
    statement_by: str | None
    record_url: str | None
    events: list[EventOut] = Field(description="The review history, oldest first.")

    @classmethod
    def of(cls, item: CustomerItem, as_of: dt.datetime) -> ItemOut:
        state = item.state_as_of(as_of)
        return cls(
            id=item.id,
            kind=str(item.kind),
            state=str(state) if state else None,
            as_of=as_of,
            title=item.title,
            controls=[str(ref) for ref in item.controls],
            owner=item.owner,
            submitted_by=item.submitted_by,
            submitted_at=item.submitted_at,
            valid_from=item.valid_from,
            valid_until=item.valid_until,
            content=ContentOut(
                sha256=item.content_sha256,
                media_type=item.media_type,
                size=item.size,
                filename=item.filename,
                url=f"/v1/evidence-items/{item.id}/content",
            ),
            supersedes=item.supersedes,
            superseded_by=item.superseded_by,
            statement_by=item.statement_by,
            record_url=item.record_url,
            events=[EventOut.of(event) for event in item.events],
        )


class ItemPage(Model):
    items: list[ItemOut]
    next_cursor: str | None


class ExceptionOut(Model):
    id: int
    state: str | None = Field(description="requested | approved | rejected | revoked | expired, as of `as_of`.")
    as_of: dt.datetime
    check_id: str | None
    control: str | None
    resource_ids: list[str]
    account_id: str | None
    justification: str
    compensating: str
    requested_by: str
    requested_at: dt.datetime
    expires_at: dt.datetime
    events: list[EventOut] = Field(description="The review history, oldest first.")

    @classmethod
    def of(cls, exception: RiskException, as_of: dt.datetime) -> ExceptionOut:
        state = exception.state_as_of(as_of)
        return cls(
            id=exception.id,
            state=str(state) if state else None,
            as_of=as_of,
            check_id=exception.check_id,
            control=str(exception.control) if exception.control else None,
            resource_ids=list(exception.resource_ids),
            account_id=exception.account_id,
            justification=exception.justification,
            compensating=exception.compensating,
            requested_by=exception.requested_by,
            requested_at=exception.requested_at,
            expires_at=exception.expires_at,
            events=[EventOut.of(event) for event in exception.events],
        )


class ExceptionPage(Model):
    items: list[ExceptionOut]
    next_cursor: str | None
