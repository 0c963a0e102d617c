"""What the `evidence` and `exception` commands share: who acts, dates and durations, and how items render."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from auditpack.cli.identity import user_at_host
from auditpack.cli.output import out
from core.errors import InputError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from auditpack.settings import Settings
    from evidence.customer.policy import Actor
    from evidence.customer.types import CustomerItem, ReviewEvent, RiskException

AS_HELP = "Who acts (recorded in the history); default AUDITPACK_ACTOR, else the OS user and host."
_DURATION = re.compile(r"(\d+)\s*([hdw])")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def actor(as_: str | None, settings: Settings | None = None) -> Actor:
    """The CLI actor: --as, else AUDITPACK_ACTOR, else cli:USER@HOST. The CLI has the database, so it acts as an
    admin; the four-eyes rule still compares names, so a reviewer must act under another name than the submitter."""
    from auditpack.settings import load_settings
    from evidence.customer.policy import Actor, Role

    name = as_ or (settings or load_settings()).actor
    if not name:
        name = f"cli:{user_at_host()}"
    return Actor(" ".join(name.split()), Role.ADMIN)


def engine() -> Engine:
    from auditpack.settings import load_settings
    from auditpack.wiring import open_store

    return open_store(load_settings(), recover=False).engine


def parse_moment(value: str, option: str) -> datetime:
    """YYYY-MM-DD (00:00 UTC that day) or an RFC 3339 timestamp."""
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(0), tzinfo=UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{option} {value!r}: expected YYYY-MM-DD or a timestamp 2027-01-31T12:00:00Z") from None
    if moment.tzinfo is None:
        raise InputError(f"{option} {value!r}: give a time zone (e.g. Z for UTC)")
    return moment.astimezone(UTC)


def parse_duration(value: str, option: str) -> timedelta:
    match = _DURATION.fullmatch(value.strip())
    if not match:
        raise InputError(f"{option} {value!r}: expected a duration such as 30d, 12h or 2w")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _when(value: datetime | None) -> str | None:
    from core.canonical import rfc3339

    return rfc3339(value) if value is not None else None


def event_dict(event: ReviewEvent) -> dict[str, Any]:
    return {"id": event.id, "state": event.state, "actor": event.actor, "at": _when(event.at), "reason": event.reason}


def item_dict(item: CustomerItem, now: datetime) -> dict[str, Any]:
    state = item.state_as_of(now)
    return {
        "id": item.id,
        "kind": str(item.kind),
        "state": str(state) if state else None,
        "title": item.title,
        "controls": [str(ref) for ref in item.controls],
        "owner": item.owner,
        "submitted_by": item.submitted_by,
        "submitted_at": _when(item.submitted_at),
        "valid_from": _when(item.valid_from),
        "valid_until": _when(item.valid_until),
        "content_sha256": item.content_sha256,
        "media_type": item.media_type,
        "size": item.size,
        "filename": item.filename,
        "supersedes": item.supersedes,
        "superseded_by": item.superseded_by,
        "statement_by": item.statement_by,
        "record_url": item.record_url,
        "import_path": item.import_path,
        "events": [event_dict(event) for event in item.events],
    }


def exception_dict(exception: RiskException, now: datetime) -> dict[str, Any]:
    state = exception.state_as_of(now)
    return {
        "id": exception.id,
        "state": str(state) if state else None,
        "check_id": exception.check_id,
        "control": str(exception.control) if exception.control else None,
        "resource_ids": list(exception.resource_ids),
        "account_id": exception.account_id,
        "justification": exception.justification,
        "compensating": exception.compensating,
        "requested_by": exception.requested_by,
        "requested_at": _when(exception.requested_at),
        "expires_at": _when(exception.expires_at),
        "events": [event_dict(event) for event in exception.events],
    }


def print_details(data: dict[str, Any]) -> None:
    """`show`: one field per line, then the history, oldest first."""
    for key, value in data.items():
        if key != "events" and value not in (None, []):
            shown = ", ".join(map(str, value)) if isinstance(value, list) else value
            out.print(escape(f"{key:>14}: {shown}"), highlight=False)
    for event in data["events"]:
        reason = f" ({event['reason']})" if event["reason"] else ""
        out.print(escape(f"{event['at']:>24}  {event['state']:<10} by {event['actor']}{reason}"), highlight=False)
