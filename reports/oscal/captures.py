"""The captures of a period in the assessment results (issue 20): one observation per capture evaluated, i.e. per
sealed run of the period (`all`, or the last of each day), collected when the run was sealed, with every
requirement's overall status at that capture as a `control-status` prop (its class: the control's OSCAL id).

A finding links the captures at which its control failed (not met, or excepted), so an auditor goes from "not
met at some point" to the runs that show it; its `captures-*` props give the control's operation over the period. Each
capture is one observation, not its run's evidence items again: a year of nightly runs would otherwise repeat the
estate's evidence 365 times. The newest run's evidence items are observations as for any export, and every
capture's run is named with its chain digest, so its evidence can be read back from the store.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from frameworks.operation import ControlOperation
from frameworks.results import OverallStatus
from reports.oscal.context import ExportContext
from reports.oscal.ids import control_token
from reports.oscal.parts import line, prop, props, tool_origin, when

# The captures a finding links: those at which its control failed, unexcepted or excepted. Evidence needed and
# incomplete are absences (no approved item, a gap), the same at most captures of most controls: the finding's
# `captures-*` and `uncovered-days` props count them instead (linking them took a year's findings from 27,000
# links to 90,000).
FAILED = frozenset({OverallStatus.NOT_MET, OverallStatus.EXCEPTED})


def capture_uuid(ctx: ExportContext, run_id: int) -> str:
    return ctx.ids("observation", "capture", run_id)


def capture_observations(ctx: ExportContext) -> Iterator[dict[str, Any]]:
    """One observation per capture of the period, oldest first (none outside a period)."""
    if ctx.operation is None:
        return
    history = ctx.operation.history
    framework = history.framework_id
    columns = [
        (index, ctx.tokens.get(info.control_id) or control_token(framework, info.control_id))
        for index, info in enumerate(history.controls)
        if not info.heading
    ]
    name = f"{history.name} {history.version}"
    selection = history.selection.value
    tool = tool_origin(ctx)
    for capture, outcomes in zip(history.captures, history.outcomes, strict=True):
        statuses = [(token, outcomes[index].status.value) for index, token in columns]
        counts = Counter(status for _, status in statuses)
        run = capture.run
        yield {
            "uuid": capture_uuid(ctx, capture.run_id),
            "title": f"Capture: run {capture.run_id}, sealed {when(capture.observed_at)}",
            "description": line(
                f"auditpack evaluated every requirement of {name} as of the moment run {capture.run_id} was "
                f"sealed ({run.status}), with the customer evidence and exceptions in force then: "
                + ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
                + ". Each requirement's overall status is a `control-status` prop whose class is its OSCAL "
                "control id."
            ),
            "props": props(
                prop("run", capture.run_id),
                prop("run-status", run.status),
                prop("run-digest", run.digest),
                prop("capture-selection", selection),
                *(prop(f"requirements-{status}", count) for status, count in sorted(counts.items())),
                *(prop("control-status", status, cls=token) for token, status in statuses),
            ),
            "types": ["control-objective"],
            "methods": ["TEST"],
            "origins": [tool],
            "collected": when(capture.observed_at),
        }


def failed_captures(ctx: ExportContext) -> dict[str, list[str]]:
    """Per control id, the uuids of the capture observations at which it failed (not met or excepted)."""
    if ctx.operation is None:
        return {}
    history = ctx.operation.history
    uuids = [capture_uuid(ctx, capture.run_id) for capture in history.captures]
    found: dict[str, list[str]] = {}
    for index, info in enumerate(history.controls):
        if info.heading:
            continue
        rows = zip(uuids, history.outcomes, strict=True)
        failing = [uuid for uuid, row in rows if row[index].status in FAILED]
        if failing:
            found[info.control_id] = failing
    return found


def operation_props(control: ControlOperation | None) -> list[dict[str, str]]:
    """A finding's operation over the period (frameworks.operation), as props."""
    if control is None:
        return []
    return props(
        prop("captures", control.captures),
        prop("captures-met", control.met),
        prop("captures-not-met", control.failed),
        prop("captures-excepted", control.excepted),
        prop("captures-incomplete", control.incomplete),
        prop("longest-failing-streak-days", control.longest_failing_streak_days),
        prop("first-failure", when(control.first_failure) if control.first_failure else None),
        prop("last-failure", when(control.last_failure) if control.last_failure else None),
        prop("uncovered-days", len(control.uncovered_days)),
    )
