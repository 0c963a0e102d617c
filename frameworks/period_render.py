"""Plain-data (JSON-ready) forms of a period's history and operation: one shape for `auditpack status --from --to`
and the API's `GET /v1/frameworks/{id}/history` (docs/frameworks.md, "Status over a period")."""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from core.canonical import rfc3339
from frameworks.history import Outcome
from frameworks.operation import ControlOperation, Failure, PeriodOperation


@lru_cache(maxsize=4096)
def _iso(day: date) -> str:
    return day.isoformat()


def _days(days: tuple[date, ...] | None) -> list[str] | None:
    """Days as YYYY-MM-DD (each formatted once: most requirements list most days of a year)."""
    return None if days is None else [_iso(day) for day in days]


def period_to_dict(period: PeriodOperation) -> dict[str, Any]:
    """What the period as a whole shows: its captures, the days without one, and the headline figures."""
    history = period.history
    longest, on = period.longest_streak()
    return {
        "from": history.since.date().isoformat(),
        "to": history.until.date().isoformat(),
        "captures": history.selection.value,
        "runs": [
            {
                "run_id": capture.run_id,
                "observed_at": rfc3339(capture.observed_at),
                "status": capture.run.status,
                "digest": capture.run.digest,
            }
            for capture in history.captures
        ],
        "days": len(period.days),
        "days_without_capture": _days(period.days_without_capture),
        "unusable_runs": [
            {"id": run.id, "status": run.status, "finished_at": rfc3339(run.finished_at) if run.finished_at else None}
            for run in history.unusable
        ],
        "requirements_failed": len(period.failed_requirements()),
        "longest_failing_streak": {"days": longest, "controls": list(on)},
    }


def _failure(failure: Failure) -> dict[str, Any]:
    remedied = failure.time_to_remediation
    return {
        "first_failed_at": rfc3339(failure.first_failed_at),
        "first_run_id": failure.first_run_id,
        "last_failed_at": rfc3339(failure.last_failed_at),
        "last_run_id": failure.last_run_id,
        "streak_days": failure.streak_days,
        "remediated_at": rfc3339(failure.remediated_at) if failure.remediated_at else None,
        "remediated_run_id": failure.remediated_run_id,
        "time_to_remediation_seconds": int(remedied.total_seconds()) if remedied is not None else None,
    }


def operation_to_dict(control: ControlOperation) -> dict[str, Any]:
    return {
        "captures": control.captures,
        "met": control.met,
        "failed": control.failed,
        "excepted": control.excepted,
        "incomplete": control.incomplete,
        "by_status": dict(control.by_status),
        "first_failure": rfc3339(control.first_failure) if control.first_failure else None,
        "last_failure": rfc3339(control.last_failure) if control.last_failure else None,
        "longest_failing_streak_days": control.longest_failing_streak_days,
        "failures": [_failure(failure) for failure in control.failures],
        "uncovered_days": _days(control.uncovered_days),
        "days_without_evidence": _days(control.evidence_uncovered_days),
    }


def controls_to_dicts(
    period: PeriodOperation, control_ids: Iterable[str] | None = None, *, encoded: bool = False
) -> dict[str, dict[str, Any]]:
    """`{history, operation}` per control (every control, or those named), by id; `history` lists
    `{run_id, observed_at, status}` per capture, oldest first (the two axes per capture are in
    `PeriodHistory.control_history` and a packet's operation-history.csv).

    A year of one capture a night for 350 controls is 128,000 history entries. `encoded`: each `history` is that
    list already as compact JSON (an `orjson.Fragment`, which orjson writes as it is), built from each capture's
    entry encoded once and each status once: no dict per entry, and nothing for the encoder to walk."""
    history = period.history
    position = {control.control_id: index for index, control in enumerate(history.controls)}
    wanted = list(control_ids) if control_ids is not None else list(position)
    out: dict[str, dict[str, Any]] = {}
    entries = _encoded_histories(period, [position[c] for c in wanted]) if encoded else _histories(period, wanted)
    for control_id, entry in zip(wanted, entries, strict=True):
        # period.controls is in the order of history.controls (frameworks.operation builds it so)
        out[control_id] = {"history": entry, "operation": operation_to_dict(period.controls[position[control_id]])}
    return out


def _histories(period: PeriodOperation, control_ids: list[str]) -> list[list[dict[str, Any]]]:
    history = period.history
    stamps = [(capture.run_id, rfc3339(capture.observed_at)) for capture in history.captures]
    position = {control.control_id: index for index, control in enumerate(history.controls)}
    return [
        [
            {"run_id": run_id, "observed_at": observed, "status": row[position[control_id]].status}  # a StrEnum
            for (run_id, observed), row in zip(stamps, history.outcomes, strict=True)
        ]
        for control_id in control_ids
    ]


def _encoded_histories(period: PeriodOperation, columns: list[int]) -> list[Any]:
    import orjson

    history = period.history
    # `{"run_id":1,"observed_at":"...","status":` per capture, then `"met"}` per status: what orjson writes for the
    # dicts of `_histories` (tested), joined in C.
    heads = [
        orjson.dumps({"run_id": capture.run_id, "observed_at": rfc3339(capture.observed_at), "status": ""})[:-3]
        for capture in history.captures
    ]
    tails: dict[Outcome, bytes] = {}
    for row in history.outcomes:
        for outcome in row:
            if outcome not in tails:
                tails[outcome] = orjson.dumps(outcome.status.value) + b"}"
    by_column = list(zip(*history.outcomes, strict=True)) if history.outcomes else [() for _ in history.controls]
    done: dict[tuple[int, ...], Any] = {}  # outcomes are interned: equal histories (most of a quiet year) share one
    found = []
    for column in columns:
        key = tuple(map(id, by_column[column]))
        if key not in done:
            parts = map(bytes.__add__, heads, map(tails.__getitem__, by_column[column]))
            done[key] = orjson.Fragment(b"[" + b",".join(parts) + b"]")
        found.append(done[key])
    return found


def period_noun(since: date, until: date) -> str:
    """What to call a period: month, quarter or year when it is exactly one calendar one, else period."""
    if since.day != 1 or until.day != monthrange(until.year, until.month)[1] or until < since:
        return "period"
    months = (until.year - since.year) * 12 + until.month - since.month + 1
    if months == 1:
        return "month"
    if months == 3 and since.month in (1, 4, 7, 10):
        return "quarter"
    return "year" if months == 12 and since.month == 1 else "period"


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def duration_text(span: timedelta) -> str:
    """A remediation time in days and hours (minutes below an hour)."""
    days, seconds = span.days, span.seconds
    hours = seconds // 3600
    if days:
        return _plural(days, "day") + (f" {_plural(hours, 'hour')}" if hours else "")
    return _plural(hours, "hour") if hours else _plural(max(1, seconds // 60), "minute")


def operation_sentence(period: PeriodOperation) -> str:
    """The period in one sentence: how many requirements failed at some capture and the longest streak, and the
    days without a capture (the executive summary and `status --from --to` say it)."""
    history = period.history
    noun = period_noun(history.since.date(), history.until.date())
    if not history.captures:
        return f"No evidence run was captured in the {noun}: nothing shows the controls operating."
    failed = period.failed_requirements()
    longest, on = period.longest_streak()
    if failed:
        where = on[0] if len(on) == 1 else f"{on[0]} and {_plural(len(on) - 1, 'other requirement')}"
        text = (
            f"{_plural(len(failed), 'requirement')} failed at some point in the {noun}; the longest streak was "
            f"{_plural(longest, 'day')}, on {where}."
        )
    else:
        text = f"No requirement failed at any of the {_plural(len(history.captures), 'capture')} of the {noun}."
    missing = len(period.days_without_capture)
    if missing:
        text += f" {_plural(missing, 'day')} of {len(period.days):,} had no capture."
    return text
