"""The words a period report uses: what to call the period and how long a remediation took."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from frameworks.period_render import duration_text, period_noun


@pytest.mark.parametrize(
    ("since", "until", "noun"),
    [
        (date(2026, 4, 1), date(2026, 4, 30), "month"),
        (date(2024, 2, 1), date(2024, 2, 29), "month"),
        (date(2026, 7, 1), date(2026, 9, 30), "quarter"),
        (date(2026, 8, 1), date(2026, 10, 31), "period"),  # three months, not a calendar quarter
        (date(2025, 1, 1), date(2025, 12, 31), "year"),
        (date(2025, 3, 1), date(2026, 2, 28), "period"),  # twelve months, not a calendar year
        (date(2026, 4, 2), date(2026, 4, 30), "period"),
    ],
)
def test_a_period_is_named_only_when_it_is_a_whole_calendar_one(since: date, until: date, noun: str) -> None:
    assert period_noun(since, until) == noun


def test_durations() -> None:
    assert duration_text(timedelta(days=19)) == "19 days"
    assert duration_text(timedelta(days=1, hours=4, minutes=59)) == "1 day 4 hours"
    assert duration_text(timedelta(hours=1)) == "1 hour"
    assert duration_text(timedelta(minutes=12)) == "12 minutes"
