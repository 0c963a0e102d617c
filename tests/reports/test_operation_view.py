"""How the packet's "Operation over the period" writes days and draws a timeline."""

from __future__ import annotations

from datetime import date

from frameworks.results import OverallStatus
from reports.operation_view import NO_CAPTURE_COLOUR, day_ranges, timeline


def test_days_are_written_as_ranges_with_the_year_once() -> None:
    days = [date(2026, 4, 3), date(2026, 4, 9), date(2026, 4, 10), date(2026, 4, 11), date(2026, 4, 30)]
    assert day_ranges([*days, date(2026, 5, 1), date(2026, 5, 2)]) == "3 Apr, 9-11 Apr, 30 Apr-2 May 2026"
    assert day_ranges([date(2025, 12, 31), date(2026, 1, 1)]) == "31 Dec 2025-1 Jan 2026"
    assert day_ranges([]) == ""


def test_a_timeline_is_one_rectangle_per_run_of_equal_days() -> None:
    met, failed = OverallStatus.MET, OverallStatus.NOT_MET
    strip = timeline([met] * 2 + [failed] * 3 + [None] + [failed] + [met] * 358)
    assert strip["days"] == 365
    assert [(s["key"], s["x"], s["width"]) for s in strip["segments"]] == [
        ("met", 0, 2),
        ("not_met", 2, 3),
        ("no_capture", 5, 1),
        ("not_met", 6, 1),
        ("met", 7, 358),
    ]
    assert strip["segments"][2]["colour"] == NO_CAPTURE_COLOUR
