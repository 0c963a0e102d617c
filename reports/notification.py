"""The JSON a capture notification carries, and the `text` chat tools show (Slack, Teams and Mattermost incoming
webhooks render a top-level `text`). A rendering of data the caller gathered: the run, what newly fails and what
was resolved since the previous run (the diff engine), evidence and exceptions expiring soon or expired since the
previous capture, the run's gaps. No URL, secret or credential is ever part of it.

    capture_payload(CaptureFacts) -> dict;  sample_payload(org) -> dict  (`auditpack notify test`)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

TEXT_LINES = 8  # entries named in `text`; the JSON lists up to the caller's limit


@dataclass(frozen=True)
class CaptureFacts:
    organisation: str
    run: dict[str, Any] | None  # None: the capture failed before a run was recorded
    error: str | None = None  # why the capture failed
    previous_run: dict[str, Any] | None = None
    compared: bool = False  # findings were compared with the previous run
    counts: dict[str, int] = field(default_factory=dict)  # newly_failing, resolved, still_failing, unverified
    new_failures: Sequence[dict[str, Any]] = ()
    resolved: Sequence[dict[str, Any]] = ()
    expiring_days: int = 14
    expiring: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {"items": [], "exceptions": []})
    expired: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {"items": [], "exceptions": []})
    gaps: Sequence[dict[str, Any]] = ()
    gap_count: int = 0


def _status_line(facts: CaptureFacts) -> str:
    name = f" for {facts.organisation}" if facts.organisation else ""
    run = facts.run
    if run is None:
        return f"auditpack capture{name} FAILED before a run was recorded: {facts.error}"
    status = str(run.get("status"))
    head = f"auditpack capture{name}: run {run['id']} {status.upper() if status != 'complete' else status}"
    if status == "failed":
        return f"{head}: {run.get('error') or facts.error}"
    detail = f"{run.get('evidence_count', 0):,} evidence items"
    if facts.gap_count:
        detail += f", {facts.gap_count:,} gap(s) (evidence that could not be read)"
    if not facts.compared:
        return f"{head} ({detail}); no previous run to compare with"
    counts = facts.counts
    previous = facts.previous_run["id"] if facts.previous_run else "?"
    return (
        f"{head} ({detail}): {counts.get('newly_failing', 0)} new failure(s), {counts.get('resolved', 0)} "
        f"resolved, {counts.get('still_failing', 0)} still failing since run {previous}"
    )


def _entry(prefix: str, finding: dict[str, Any]) -> str:
    who = finding.get("changed_by") or []
    by = f" (changed by {', '.join(who[:2])})" if who else ""
    return f"- {prefix} {finding['check_id']} on {finding['resource_id']}{by}"


def capture_text(facts: CaptureFacts) -> str:
    lines = [_status_line(facts)]
    entries = [_entry("NEW", f) for f in facts.new_failures] + [_entry("RESOLVED", f) for f in facts.resolved]
    lines += entries[:TEXT_LINES]
    hidden = facts.counts.get("newly_failing", 0) + facts.counts.get("resolved", 0) - len(entries[:TEXT_LINES])
    if hidden > 0:
        lines.append(f"- and {hidden} more")
    for item in facts.expired["items"]:
        lines.append(f"- EXPIRED evidence item {item['id']} ({item['title']}) at {item['expired_at']}")
    for exception in facts.expired["exceptions"]:
        lines.append(f"- EXPIRED exception {exception['id']} ({exception['scope']}) at {exception['expired_at']}")
    for item in facts.expiring["items"]:
        lines.append(f"- expires {item['expires_at']}: evidence item {item['id']} ({item['title']})")
    for exception in facts.expiring["exceptions"]:
        lines.append(f"- expires {exception['expires_at']}: exception {exception['id']} ({exception['scope']})")
    return "\n".join(lines)


def capture_payload(facts: CaptureFacts) -> dict[str, Any]:
    return {
        "organisation": facts.organisation,
        "run": facts.run,
        "error": facts.error,
        "previous_run": facts.previous_run,
        "compared": facts.compared,
        "counts": dict(facts.counts),
        "new_failures": list(facts.new_failures),
        "resolved": list(facts.resolved),
        "truncated": {
            "new_failures": facts.counts.get("newly_failing", 0) > len(facts.new_failures),
            "resolved": facts.counts.get("resolved", 0) > len(facts.resolved),
        },
        "expiring": {"within_days": facts.expiring_days, **facts.expiring},
        "expired_since_previous_run": facts.expired,
        "gaps": {"count": facts.gap_count, "first": list(facts.gaps)},
        "text": capture_text(facts),
    }


def sample_payload(organisation: str) -> dict[str, Any]:
    """What `auditpack notify test` sends: the shape of a capture notification, marked as a test."""
    name = f" for {organisation}" if organisation else ""
    return {
        "organisation": organisation,
        "run": None,
        "sample": True,
        "text": f"auditpack{name}: test notification. Capture notifications will arrive here, signed like this one.",
    }
