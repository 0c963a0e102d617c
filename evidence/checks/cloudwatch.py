"""The cloudwatch.* checks: alarms on security events from the log group CloudTrail delivers to (metadata in
cloudwatch.yaml; the events are data in data/security_events.yaml)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

import yaml

from evidence.checks._trails import TRAIL_KINDS, TrailState, account_trails, account_verdict
from evidence.checks.types import Finding
from evidence.checks.unit import Check, custom
from evidence.checks.verdicts import setting_id
from evidence.checks.view import GLOBAL
from evidence.store import EvidenceRecord

FILTERS, ALARMS = "logs.metric_filters", "cloudwatch.alarms"


@cache
def security_events() -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(id, title, tokens) of every security event that needs an alarm (data: data/security_events.yaml)."""
    text = resources.files("evidence.checks").joinpath("data", "security_events.yaml").read_text("utf-8")
    return tuple((e["id"], e["title"], tuple(e["tokens"])) for e in yaml.safe_load(text)["events"])


def log_group_of(arn: str) -> tuple[str, str]:
    """(region, log group name) of a log group ARN such as arn:aws:logs:us-east-1:111:log-group:NAME:*."""
    parts = arn.split(":")
    return parts[3], ":".join(parts[6:]).removesuffix(":*")


def alarmed_events(group: str, filters: list[dict[str, Any]], alarms: list[dict[str, Any]]) -> set[str]:
    """Ids of the security events that a metric filter on `group` turns into a metric watched by an alarm
    with an enabled action."""
    actionable = {
        (a.get("Namespace"), a.get("MetricName"))
        for a in alarms
        if a.get("ActionsEnabled", True) and a.get("AlarmActions")
    }
    covered: set[str] = set()
    for metric_filter in filters:
        if metric_filter.get("logGroupName") != group:
            continue
        metrics = {
            (t.get("metricNamespace"), t.get("metricName")) for t in metric_filter.get("metricTransformations") or []
        }
        if not metrics & actionable:
            continue
        pattern = str(metric_filter.get("filterPattern", "")).lower()
        covered |= {eid for eid, _, tokens in security_events() if all(t.lower() in pattern for t in tokens)}
    return covered


@custom(kinds=(*TRAIL_KINDS, FILTERS, ALARMS), regional=False)
def security_event_alarms(c: Check) -> Iterator[Finding]:
    """One finding per account: the log group of a logging multi-region trail has a metric filter and an
    alarm with an action for every security event in data/security_events.yaml."""
    titles = {eid: title for eid, title, _ in security_events()}
    for account_id, (states, errors) in sorted(account_trails(c).items()):
        resource_id = setting_id(account_id, GLOBAL, "security-event-alarms")
        where: dict[str, Any] = {"resource_id": resource_id, "resource_type": "account", "region": GLOBAL}
        delivering = [s for s in states if s.trail.payload.get("CloudWatchLogsLogGroupArn")]
        best: tuple[set[str], TrailState, list[EvidenceRecord]] | None = None
        for state in delivering:
            region, group = log_group_of(state.trail.payload["CloudWatchLogsLogGroupArn"])
            place: dict[str, Any] = {"resource_id": resource_id, "resource_type": "account"}
            filters = c.attempt(errors, c.setting, FILTERS, account_id, region, what="metric filter listing", **place)
            alarms = c.attempt(errors, c.setting, ALARMS, account_id, region, what="alarm listing", **place)
            if filters is None or alarms is None:
                continue
            covered = alarmed_events(
                group, filters.payload.get("metricFilters", []), alarms.payload.get("MetricAlarms", [])
            )
            if best is None or len(covered) > len(best[0]):
                best = (covered, state, [filters, alarms])
        missing = sorted(set(titles) - best[0]) if best else sorted(titles)
        if best and not missing:
            covered, state, basis = best
            yield c.passed(
                state.trail,
                f"every one of {len(titles)} security events raises an alarm from {state.name}'s log group",
                also=[*state.records[1:], *basis],
                **where,
            )
        elif best and errors:
            reason = "not every security event raises an alarm"
            yield account_verdict(c, account_id, errors, reason, name="security-event-alarms")
        elif best:
            covered, state, basis = best
            yield c.failed(
                state.trail,
                f"no alarm with an action for {len(missing)} of {len(titles)} security events: "
                + ", ".join(titles[m] for m in missing),
                also=[*state.records[1:], *basis],
                **where,
            )
        else:
            reason = (
                "no logging multi-region trail delivers to CloudWatch Logs, so no security event can raise an alarm"
            )
            yield account_verdict(c, account_id, errors, reason, name="security-event-alarms")
