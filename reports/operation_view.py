"""What the packet's "Operation over the period" section and the executive summary's sentence print, from a period's
operation (`frameworks.operation`): bounded by the catalog, never by the number of runs.

Each timeline is an inline SVG strip, one cell per day (the most severe status of that day's captures, or no
capture), drawn as one rectangle per run of equal days: a control met all year is one rectangle, so a year of
300 controls stays a few thousand shapes (WeasyPrint draws SVG outside its box tree; the table rows are the cost).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from frameworks.operation import ControlOperation, Failure, PeriodOperation
from frameworks.period_render import duration_text, operation_sentence, period_noun
from frameworks.results import OverallStatus
from reports.render import labels

NO_CAPTURE = "no_capture"
NO_CAPTURE_COLOUR = "#e4e7ec"  # light grey: the strip's background, a day nothing was captured
FAILURES_PER_CONTROL = 5  # failing streaks listed per control (all are in manifest.json)


def _segments(cells: Sequence[OverallStatus | None]) -> list[dict[str, Any]]:
    """Runs of equal days as rectangles (x and width in days) with their colour."""
    palette = labels()["control_status"]
    out: list[dict[str, Any]] = []
    for index, cell in enumerate(cells):
        key = cell.value if cell is not None else NO_CAPTURE
        if out and out[-1]["key"] == key:
            out[-1]["width"] += 1
            continue
        colour = palette[key]["colour"] if cell is not None else NO_CAPTURE_COLOUR
        out.append({"key": key, "x": index, "width": 1, "colour": colour})
    return out


def timeline(cells: Sequence[OverallStatus | None]) -> dict[str, Any]:
    return {"days": max(1, len(cells)), "segments": _segments(cells)}


def day_ranges(days: Sequence[date]) -> str:
    """Days as compact ranges: "3 Apr, 9-11 Apr, 30 Apr-2 May 2026" (the year once, at the end)."""
    if not days:
        return ""
    spans: list[tuple[date, date]] = []
    for day in sorted(days):
        if spans and day - spans[-1][1] == timedelta(days=1):
            spans[-1] = (spans[-1][0], day)
        else:
            spans.append((day, day))
    years = {day.year for day in days}

    def one(day: date) -> str:
        return f"{day.day} {day:%b}" + (f" {day.year}" if len(years) > 1 else "")

    parts = []
    for first, last in spans:
        if first == last:
            parts.append(one(first))
        elif (first.month, first.year) == (last.month, last.year):
            parts.append(f"{first.day}-{one(last)}")
        else:
            parts.append(f"{one(first)}-{one(last)}")
    text = ", ".join(parts)
    return text + (f" {next(iter(years))}" if len(years) == 1 else "")


def _failure(failure: Failure) -> dict[str, Any]:
    remedied = failure.time_to_remediation
    return {
        "first": failure.first_failed_at,
        "first_run": failure.first_run_id,
        "last": failure.last_failed_at,
        "last_run": failure.last_run_id,
        "days": failure.streak_days,
        "remediated": failure.remediated_at,
        "remediated_run": failure.remediated_run_id,
        "time_to_remediation": duration_text(remedied) if remedied is not None else None,
    }


def _row(control: ControlOperation) -> dict[str, Any]:
    return {
        "id": control.control_id,
        "title": control.info.title,
        "strip": timeline(control.cells),
        "captures": control.captures,
        "met": control.met,
        "failed": control.failed,
        "excepted": control.excepted,
        "incomplete": control.incomplete,
        "streak": control.longest_failing_streak_days,
        "uncovered": len(control.uncovered_days),
    }


def body_context(period: PeriodOperation) -> dict[str, Any]:
    """`operation` for _operation.html and _summary.html."""
    history = period.history
    rows: dict[str, list[dict[str, Any]]] = {}
    for control in period.requirements():
        rows.setdefault(control.info.family_id, []).append(_row(control))
    families = [
        {
            "id": family.family_id,
            "title": family.title,
            "strip": timeline(family.cells),
            "controls": rows[family.family_id],
        }
        for family in period.families()
    ]
    failed = [
        {
            "id": control.control_id,
            "title": control.info.title,
            "failures": [_failure(f) for f in control.failures[:FAILURES_PER_CONTROL]],
            "hidden": max(0, len(control.failures) - FAILURES_PER_CONTROL),
            "streak": control.longest_failing_streak_days,
        }
        for control in period.failed_requirements()
    ]
    lacking = [control for control in period.requirements() if control.evidence_uncovered_days]
    whole = [
        control.control_id for control in lacking if len(control.evidence_uncovered_days or ()) == len(period.days)
    ]
    # One row per requirement covered part of the time; those never covered are listed by id in one sentence.
    evidence = [
        {"id": control.control_id, "title": control.info.title, "days": len(days), "ranges": day_ranges(days)}
        for control in lacking
        if (days := control.evidence_uncovered_days) and len(days) < len(period.days)
    ]
    palette = labels()["control_status"]
    captures = history.captures
    return {
        "operation": {
            "sentence": operation_sentence(period),
            "noun": period_noun(history.since.date(), history.until.date()),
            "selection": history.selection.value,
            "captures": len(captures),
            "first_capture": captures[0] if captures else None,
            "last_capture": captures[-1] if captures else None,
            "days": len(period.days),
            "first_day": period.days[0],
            "last_day": period.days[-1],
            "without_capture": len(period.days_without_capture),
            "without_capture_text": day_ranges(period.days_without_capture),
            "unusable": history.unusable,
            "legend": [
                *({"label": palette[s.value]["label"], "colour": palette[s.value]["colour"]} for s in OverallStatus),
                {"label": "No capture", "colour": NO_CAPTURE_COLOUR},
            ],
            "families": families,
            "failed": failed,
            "evidence": evidence,
            "evidence_never": whole,
        }
    }
