"""The one set of parsers for what clients send as text: instants, days, counts and free text.

Each parser takes a string and either returns a value or raises `ParameterError` (an `InputError`) saying what was
expected; nothing else escapes, whatever the text (tests/api/test_parsing.py checks this with Hypothesis). The
request types in `api.schemas.types` wrap these for query parameters and bodies, so every route reads a datetime,
a number or a note the same way.

The rules (docs/api.md, "Input rules"):
- an instant is RFC 3339 with a zone (`Z` or `+hh:mm`) and ASCII digits only; a naive date-time is refused rather
  than guessed. Where a day is allowed (as_of), `YYYY-MM-DD` means the end of that day in UTC.
- after conversion to UTC an instant lies in [1970-01-01T00:00:00Z, 9999-12-31T23:59:59.999999Z]: evidence cannot
  be older, and the bound keeps date arithmetic (as_of minus the freshness window) inside the calendar.
- free text (notes) has no control characters, lone surrogates, line/paragraph separators or bidirectional
  overrides: a database refuses some (PostgreSQL: NUL), and the others forge lines or reorder text in logs.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta

from core.errors import InputError

MIN_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)
MAX_INSTANT = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
MAX_INT63 = 2**63 - 1  # PostgreSQL bigint, and every id we issue

# [0-9], not \d: \d also matches Arabic-Indic, fullwidth and other Unicode digits.
_INSTANT = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt](?P<h>[0-9]{2}):(?P<m>[0-9]{2}):(?P<s>[0-9]{2})"
    r"(?:\.(?P<frac>[0-9]{1,9}))?(?P<zone>[Zz]|[+-][0-9]{2}:[0-9]{2})?"
)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DIGITS = re.compile(r"[0-9]{1,19}")
_INSTANT_FORM = "an RFC 3339 date-time with a zone, e.g. 2026-03-31T23:59:59Z"
_DAY_FORM = "a date YYYY-MM-DD, e.g. 2026-03-31"
_OUT_OF_RANGE = "{} is outside the accepted range: expected 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z (UTC)"
# Characters refused in free text besides categories Cc (controls) and Cs (surrogates).
_SEPARATORS_AND_OVERRIDES = frozenset("\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class ParameterError(InputError):
    """A client-supplied value that does not parse, or lies outside what the API accepts."""


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "…")


def _in_range(moment: datetime, text: str) -> datetime:
    if not MIN_INSTANT <= moment <= MAX_INSTANT:
        raise ParameterError(_OUT_OF_RANGE.format(_shown(text)))
    return moment


def _calendar_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ParameterError(f"{_shown(text)} is not a calendar date: expected {_DAY_FORM}") from None


def _day(text: str) -> date:
    day = _calendar_day(text)
    if day < MIN_INSTANT.date():
        raise ParameterError(f"{_shown(text)} is before 1970-01-01, the earliest accepted date")
    return day


def parse_day(text: str) -> date:
    """`YYYY-MM-DD` (ASCII digits), from 1970-01-01 to 9999-12-31."""
    if not _DAY.fullmatch(text):
        raise ParameterError(f"{_shown(text)} is not a date: expected {_DAY_FORM}")
    return _day(text)


def parse_instant(text: str, *, day_allowed: bool = False) -> datetime | date:
    """An aware UTC datetime from RFC 3339 text (fractions beyond microseconds are cut, not rounded); with
    `day_allowed`, a bare `YYYY-MM-DD` comes back as a `date` (see `end_of_day`)."""
    expected = f"{_INSTANT_FORM}" + (f", or {_DAY_FORM} for the end of that day (UTC)" if day_allowed else "")
    if day_allowed and _DAY.fullmatch(text):
        return _day(text)
    match = _INSTANT.fullmatch(text)
    if match is None:
        hint = " (a '+' in a URL query is read as a space: send it as %2B)" if " " in text else ""
        raise ParameterError(f"{_shown(text)} is not {expected}{hint}")
    if match["zone"] is None:
        raise ParameterError(f"{_shown(text)} has no time zone: expected {expected}")
    day = _calendar_day(match["date"])  # the range is checked in UTC, below
    hour, minute, second = int(match["h"]), int(match["m"]), int(match["s"])
    if hour > 23 or minute > 59 or second > 59:  # leap seconds (:60) too: Python cannot represent them
        raise ParameterError(f"{_shown(text)} has no such time of day: expected {expected}")
    zone = match["zone"].upper()
    offset = timedelta(0)
    if zone != "Z":
        zone_hours, zone_minutes = int(zone[1:3]), int(zone[4:6])
        if zone_hours > 23 or zone_minutes > 59:
            raise ParameterError(f"{_shown(text)} has no such UTC offset: expected {expected}")
        offset = timedelta(hours=zone_hours, minutes=zone_minutes) * (-1 if zone[0] == "-" else 1)
    micro = int((match["frac"] or "0").ljust(6, "0")[:6])
    try:  # on naive values: 9999-12-31T23:00:00-02:00 and 0001-01-01T00:00:00+01:00 leave the calendar
        utc = datetime.combine(day, time(hour, minute, second, micro)) - offset
    except OverflowError:
        raise ParameterError(_OUT_OF_RANGE.format(_shown(text))) from None
    return _in_range(utc.replace(tzinfo=UTC), text)


def end_of_day(day: date) -> datetime:
    """The last instant of `day` in UTC: a run finished at any time that day counts as of that day."""
    return datetime.combine(day, time.max, tzinfo=UTC)


def as_of_instant(value: datetime | date | None, *, now: datetime) -> datetime | None:
    """A parsed as_of as the moment it names: a day is its end (UTC), and today's end is `now`."""
    if value is None or isinstance(value, datetime):
        return value
    end = end_of_day(value)
    return min(end, now) if value == now.date() else end


_DURATION = re.compile(r"([0-9]{1,6})([hdw])")
_DURATION_UNITS = {"h": "hours", "d": "days", "w": "weeks"}
MAX_DURATION = timedelta(days=36600)  # a century: more is a typo, and keeps date arithmetic in the calendar


def parse_duration(text: str) -> timedelta:
    """A span written as a whole number and a unit: `12h`, `30d` or `2w` (ASCII digits, no spaces or signs)."""
    match = _DURATION.fullmatch(text)
    if match is None:
        raise ParameterError(f"{_shown(text)} is not a duration: expected a number and h, d or w, e.g. 30d")
    span = timedelta(**{_DURATION_UNITS[match[2]]: int(match[1])})
    if span > MAX_DURATION:
        raise ParameterError(f"{_shown(text)} is longer than {MAX_DURATION.days} days")
    return span


def parse_count(text: str, *, minimum: int = 0, maximum: int = MAX_INT63) -> int:
    """A whole number written in ASCII digits only: no sign, spaces, underscores, fractions or exponents."""
    if not _DIGITS.fullmatch(text):
        raise ParameterError(f"{_shown(text)} is not a whole number: expected ASCII digits 0-9 only")
    value = int(text)
    if not minimum <= value <= maximum:
        raise ParameterError(f"{value} is out of range: expected {minimum} to {maximum}")
    return value


def check_free_text(text: str, *, max_length: int) -> str:
    """`text` unchanged if it is at most `max_length` characters of printable text; `ParameterError` otherwise."""
    if len(text) > max_length:
        raise ParameterError(f"is {len(text)} characters long: expected at most {max_length} characters")
    for index, char in enumerate(text):
        if unicodedata.category(char) in ("Cc", "Cs") or char in _SEPARATORS_AND_OVERRIDES:
            name = unicodedata.name(char, "") if unicodedata.category(char) != "Cs" else "lone surrogate"
            raise ParameterError(
                f"holds the control character U+{ord(char):04X}{f' ({name})' if name else ''} at position {index}: "
                "expected printable text on one line"
            )
    return text


def parse_bool(text: str) -> bool:
    """Exactly `true` or `false`, as JSON writes them."""
    if text == "true":
        return True
    if text == "false":
        return False
    raise ParameterError(f"{_shown(text)} is not a boolean: expected true or false")
