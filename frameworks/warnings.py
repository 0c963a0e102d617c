"""Warnings about the evidence an evaluation rests on: no usable run, unknown service usage, a stale run."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from evidence.checks.types import ServiceUsage
from frameworks.results import RunRef


def run_warnings(
    runs: Sequence[RunRef], usage: ServiceUsage | None, as_of: datetime, freshness_hours: int
) -> tuple[str, ...]:
    if not runs:
        return (
            f"no complete or partial evidence run at or before {as_of.isoformat()}: automated checks have no evidence",
        )
    found: list[str] = []
    if usage is None:
        found.append("service usage is unknown: no check is excused for lack of resources")
    newest = max((run.finished_at or run.started_at) for run in runs)
    if newest < as_of - timedelta(hours=freshness_hours):
        found.append(
            f"the newest evidence run finished {newest.isoformat()}, more than {freshness_hours} h before "
            f"{as_of.isoformat()}: its evidence is stale"
        )
    return tuple(found)
