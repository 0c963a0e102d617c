"""One resource's CloudTrail lookup: the management events that wrote to it between two captures.

`cloudtrail:LookupEvents` by `ResourceName`, page by page (each page a request through the region's token bucket),
keeping write events only (`ReadOnly` false): who (the caller's ARN and identity type), what (event name and
source), when, from where (source IP) and with what (user agent); a refused call keeps its error code (an attempt,
not a change). Access key ids, request parameters and responses are not kept.

What was found is recorded as `cloudtrail.change_events` evidence of the resource, in the run being collected (so
chained with the rest of it), with the window asked about. A lookup that fails on any page is a gap for that
resource, and nothing of it is recorded: events are never guessed, nor a partial list passed off as complete.
CloudTrail keeps 90 days of events; a window reaching further back starts at that limit and says so
(`unavailable_before`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.canonical import rfc3339
from evidence.changes.throttle import TokenBucket
from evidence.collectors.context import CollectorContext
from evidence.diff.types import CHANGE_EVENTS

RETENTION = timedelta(days=90)  # CloudTrail's event history
_EDGE = timedelta(minutes=10)  # events at the very edge of the 90 days age out while we page
MAX_PAGES = 4  # 50 events a page: a resource written more often than this is marked truncated
PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class Candidate:
    """A resource that changed between the two captures."""

    account_id: str
    region: str  # where its evidence is ("global" for IAM)
    resource_id: str
    resource_type: str
    change: str  # added | removed | changed


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime
    unavailable_before: datetime | None  # set when the previous capture is older than CloudTrail keeps


def window(since: datetime, now: datetime) -> Window:
    """From the previous capture's start to now, within CloudTrail's 90 days."""
    earliest = now - RETENTION + _EDGE
    if since < earliest:
        return Window(earliest, now, earliest)
    return Window(since, now, None)


def _event(raw: dict[str, Any]) -> dict[str, Any] | None:
    """One LookupEvents entry as the evidence keeps it, or None for a read-only event."""
    try:
        detail = json.loads(raw.get("CloudTrailEvent") or "{}")
    except ValueError:
        detail = {}
    if not isinstance(detail, dict):
        detail = {}
    read_only = raw.get("ReadOnly")
    if read_only is None:
        read_only = str(detail.get("readOnly", "")).lower() or None
    if str(read_only).lower() == "true":
        return None
    identity = detail.get("userIdentity") if isinstance(detail.get("userIdentity"), dict) else {}
    when = raw.get("EventTime")
    return {
        "event_id": raw.get("EventId") or detail.get("eventID"),
        "event_name": raw.get("EventName") or detail.get("eventName"),
        "event_source": raw.get("EventSource") or detail.get("eventSource"),
        "event_time": rfc3339(when) if isinstance(when, datetime) else (str(when) if when else None),
        "actor_arn": identity.get("arn"),
        "actor_type": identity.get("type"),
        "user_name": raw.get("Username"),
        "source_ip": detail.get("sourceIPAddress"),
        "user_agent": detail.get("userAgent"),
        "error_code": detail.get("errorCode"),
    }


def look_up(
    ctx: CollectorContext,
    bucket: TokenBucket,
    candidate: Candidate,
    *,
    name: str,
    region: str,
    span: Window,
    since_run: int,
) -> int | None:
    """Look one resource up and record what was found; the number of write events, or None after a gap."""
    events: list[dict[str, Any]] = []
    token: str | None = None
    pages = 0
    truncated = False
    while True:
        bucket.acquire()
        params: dict[str, Any] = {
            "LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": name}],
            "StartTime": span.start,
            "EndTime": span.end,
            "MaxResults": PAGE_SIZE,
        }
        if token:
            params["NextToken"] = token
        answer = ctx.call(
            "cloudtrail.LookupEvents",
            kind=CHANGE_EVENTS,
            resource_id=candidate.resource_id,
            region=region,
            gap_region=candidate.region,
            **params,
        )
        if answer is None or not isinstance(answer, dict):
            return None  # the gap is recorded; nothing of this lookup is kept
        events += [found for raw in answer.get("Events") or [] if (found := _event(raw)) is not None]
        pages += 1
        token = answer.get("NextToken")
        if not token:
            break
        if pages >= MAX_PAGES:
            truncated = True
            break
    events.sort(key=lambda e: (str(e["event_time"]), str(e["event_id"])))
    ctx.record(
        kind=CHANGE_EVENTS,
        resource_type=candidate.resource_type,
        resource_id=candidate.resource_id,
        region=candidate.region,
        service="cloudtrail",
        tags={},
        payload={
            "resource_name": name,
            "lookup_region": region,
            "change": candidate.change,
            "since_run": since_run,
            "window_start": rfc3339(span.start),
            "window_end": rfc3339(span.end),
            "unavailable_before": rfc3339(span.unavailable_before) if span.unavailable_before else None,
            "pages": pages,
            "truncated": truncated,
            "events": events,
        },
    )
    return len(events)
