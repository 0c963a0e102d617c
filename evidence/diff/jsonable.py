"""A diff's parts as plain JSON values: what `auditpack diff --format json` prints and webhooks carry."""

from __future__ import annotations

from typing import Any

from core.canonical import rfc3339
from evidence.diff.types import ChangeLookup, ResourceDiff
from evidence.models import Run


def run_json(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "status": run.status,
        "started_at": rfc3339(run.started_at),
        "finished_at": rfc3339(run.finished_at) if run.finished_at else None,
        "digest": run.digest,
    }


def lookup_json(lookup: ChangeLookup | None) -> dict[str, Any] | None:
    if lookup is None:
        return None
    return {
        "status": lookup.status,
        "actors": list(lookup.actors),
        "events": [
            {
                "event_time": str(e.event_time),
                "event_name": e.event_name,
                "event_source": e.event_source,
                "actor_arn": e.actor_arn,
                "actor_type": e.actor_type,
                "source_ip": e.source_ip,
                "user_agent": e.user_agent,
                "error_code": e.error_code,
                "event_id": e.event_id,
            }
            for e in lookup.events
        ],
        "window_start": lookup.window_start,
        "window_end": lookup.window_end,
        "unavailable_before": lookup.unavailable_before,
        "truncated": lookup.truncated,
        "message": lookup.message,
        "evidence_sha256": lookup.evidence_sha256,
    }


def resource_json(diff: ResourceDiff) -> dict[str, Any]:
    return {
        "account_id": diff.account_id,
        "region": diff.region,
        "resource_id": diff.resource_id,
        "resource_type": diff.resource_type,
        "change": diff.change.value,
        "evidence": [
            {
                "kind": kind.kind,
                "change": kind.change.value,
                "before_sha256": list(kind.before),
                "after_sha256": list(kind.after),
                "lines": list(kind.lines),
                "fields": [{"path": f.path, "op": f.op, "before": f.before, "after": f.after} for f in kind.fields],
            }
            for kind in diff.kinds
        ],
        "findings": [
            {"check_id": f.check_id, "change": f.change.value, "before": f.before, "after": f.after, "reason": f.reason}
            for f in diff.findings
        ],
        "changed_by": lookup_json(diff.lookup),
    }
