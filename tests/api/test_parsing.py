"""Properties of the request parsers (api.parsing) and the client address normalisation, with Hypothesis: every
valid form reads back what was written, and no text whatsoever raises anything but `ParameterError`."""

from __future__ import annotations

import ipaddress
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.client_address import INVALID, MAX_LENGTH, UNKNOWN, normalise_client
from api.parsing import (
    MAX_INSTANT,
    MAX_INT63,
    MIN_INSTANT,
    ParameterError,
    as_of_instant,
    check_free_text,
    parse_bool,
    parse_count,
    parse_day,
    parse_instant,
)

PURE = settings(max_examples=200, deadline=None)
# Any code point, lone surrogates included (JSON can carry them; the databases cannot store them).
ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=()), max_size=60)
# Text shaped like the accepted forms, so the parsers' deeper branches are reached, not just the first regex.
DIGITISH = st.sampled_from([*"0123456789", "\u0661", "\uff11", "-", ":", "T", "Z", "+", ".", " ", "t", "z"])
NEAR_INSTANTS = st.text(alphabet=DIGITISH, min_size=10, max_size=32)
OFFSETS = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(lambda m: timedelta(minutes=m))
IN_RANGE = st.datetimes(min_value=MIN_INSTANT.replace(tzinfo=None), max_value=MAX_INSTANT.replace(tzinfo=None))


def _rfc3339(moment: datetime, offset: timedelta) -> str:
    local = moment.replace(tzinfo=UTC).astimezone(timezone(offset))
    return local.isoformat().replace("+00:00", "Z")


@PURE
@given(moment=IN_RANGE, offset=OFFSETS)
def test_an_instant_reads_back_as_the_same_utc_moment(moment: datetime, offset: timedelta) -> None:
    utc = moment.replace(tzinfo=UTC)
    try:
        text = _rfc3339(moment, offset)
    except OverflowError:  # the local time of an instant at the calendar's edge does not exist in Python
        return
    assert parse_instant(text) == utc
    assert parse_instant(text, day_allowed=True) == utc


@PURE
@given(moment=st.datetimes(max_value=datetime(9999, 12, 30)), offset=OFFSETS)
def test_an_instant_outside_the_range_is_an_input_error(moment: datetime, offset: timedelta) -> None:
    utc = moment.replace(tzinfo=UTC)
    text = moment.isoformat() + ("Z" if not offset else _rfc3339(moment, offset)[-6:])
    expected_utc = utc - offset
    if MIN_INSTANT <= expected_utc <= MAX_INSTANT:
        assert parse_instant(text) == expected_utc
    else:
        with pytest.raises(ParameterError, match="outside the accepted range"):
            parse_instant(text)


@PURE
@given(text=st.one_of(ANY_TEXT, NEAR_INSTANTS), day_allowed=st.booleans())
def test_any_text_is_an_instant_or_an_input_error(text: str, day_allowed: bool) -> None:
    try:
        value = parse_instant(text, day_allowed=day_allowed)
    except ParameterError as exc:
        assert exc.message and exc.exit_code == 2
        return
    if isinstance(value, datetime):
        assert value.tzinfo is UTC and MIN_INSTANT <= value <= MAX_INSTANT
        assert text.isascii() and (text[-1] in "Zz" or text[-6] in "+-")  # a zone was given
    else:
        assert day_allowed and value == date.fromisoformat(text) and value >= MIN_INSTANT.date()


@PURE
@given(text=st.one_of(ANY_TEXT, NEAR_INSTANTS))
def test_a_naive_date_time_is_never_read(text: str) -> None:
    """Whatever reads as an instant carried its zone: the naive prefix alone never parses."""
    try:
        parse_instant(text)
    except ParameterError:
        return
    naive = text[:19]
    with pytest.raises(ParameterError):
        parse_instant(naive, day_allowed=True)


@PURE
@given(day=st.dates(min_value=MIN_INSTANT.date()))
def test_a_day_reads_back_and_as_of_means_its_end(day: date) -> None:
    assert parse_day(day.isoformat()) == day
    assert parse_instant(day.isoformat(), day_allowed=True) == day
    now = datetime(2026, 3, 31, 12, tzinfo=UTC)
    end = as_of_instant(day, now=now)
    assert end is not None and end.date() == day
    if day != now.date():  # the last microsecond of the day (UTC)
        assert (end.hour, end.minute, end.second, end.microsecond) == (23, 59, 59, 999999)


def test_as_of_today_is_now() -> None:
    now = datetime(2026, 3, 31, 12, tzinfo=UTC)
    assert as_of_instant(date(2026, 3, 31), now=now) == now
    assert as_of_instant(None, now=now) is None


@PURE
@given(text=ANY_TEXT)
def test_any_text_is_a_day_or_an_input_error(text: str) -> None:
    try:
        day = parse_day(text)
    except ParameterError:
        return
    assert day.isoformat() == text


@PURE
@given(value=st.integers(min_value=0, max_value=MAX_INT63))
def test_a_count_reads_back(value: int) -> None:
    assert parse_count(str(value)) == value


@PURE
@given(text=st.one_of(ANY_TEXT, st.integers().map(str), st.floats().map(str)))
def test_any_text_is_a_count_in_range_or_an_input_error(text: str) -> None:
    try:
        value = parse_count(text, minimum=1, maximum=1000)
    except ParameterError:
        return
    assert 1 <= value <= 1000 and text.isascii() and text.isdigit()


@PURE
@given(text=ANY_TEXT)
def test_only_true_and_false_are_flags(text: str) -> None:
    try:
        assert parse_bool(text) is (text == "true")
    except ParameterError:
        assert text not in ("true", "false")


@PURE
@given(text=st.text(alphabet=st.characters(exclude_categories=()), max_size=300))
def test_free_text_passes_unchanged_or_is_refused(text: str) -> None:
    try:
        kept = check_free_text(text, max_length=256)
    except ParameterError:
        return
    assert kept == text and len(text) <= 256
    assert not any(unicodedata.category(char) in ("Cc", "Cs") for char in text)
    assert kept.encode("utf-8").decode("utf-8") == kept  # storable as UTF-8 on both backends


@PURE
@given(
    host=st.one_of(
        ANY_TEXT,
        st.ip_addresses().map(str),
        st.builds(lambda ip, zone: f"{ip}%{zone}", st.ip_addresses(v=6), st.text(max_size=20)),
    )
)
def test_any_client_text_is_stored_as_an_address_or_a_marker(host: str) -> None:
    stored = normalise_client(host)
    assert len(stored) <= MAX_LENGTH
    if stored not in (INVALID, UNKNOWN):
        ipaddress.ip_address(stored.partition("%")[0])  # a real address, in normal form
        assert normalise_client(stored) == stored
