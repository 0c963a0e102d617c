"""Request field types built on `api.parsing`: the same strict reading for query parameters, path segments and
JSON bodies. A value that does not parse is a 422 naming the field, with the parser's message.

pydantic's lax mode reads `"yes"` as true, `"5.0"`, `" 5"` and `"1_0"` as integers, `1700000000` as a datetime
and a naive midnight as a date; these types accept only the documented forms (docs/api.md, "Input rules").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import PlainValidator, StringConstraints, WithJsonSchema
from pydantic_core import PydanticCustomError

from api.models import NOTE_MAX_LENGTH
from api.parsing import (
    MAX_INT63,
    ParameterError,
    check_free_text,
    parse_bool,
    parse_count,
    parse_day,
    parse_duration,
    parse_instant,
)

T = TypeVar("T")


def _strict(parse: Callable[[str], T], error_type: str, expected: str) -> PlainValidator:
    def validate(value: Any) -> T:
        if not isinstance(value, str):
            raise PydanticCustomError(error_type, "expected {expected}, as a string", {"expected": expected})
        try:
            return parse(value)
        except ParameterError as exc:
            raise PydanticCustomError(error_type, "{reason}", {"reason": exc.message}) from None

    return PlainValidator(validate)


_DATE_TIME = {"type": "string", "format": "date-time"}
_DATE = {"type": "string", "format": "date"}

# An aware instant (RFC 3339 with a zone), in UTC, within the accepted range.
Instant = Annotated[
    dt.datetime,
    _strict(lambda text: parse_instant(text), "datetime_format", "an RFC 3339 date-time with a zone"),
    WithJsonSchema(_DATE_TIME),
]
# An instant, or a day meaning its end (UTC): resolve with `api.parsing.as_of_instant`.
InstantOrDay = Annotated[
    dt.datetime | dt.date,
    _strict(lambda text: parse_instant(text, day_allowed=True), "datetime_format", "a date-time or a date"),
    WithJsonSchema({"anyOf": [_DATE_TIME, _DATE]}),
]
Day = Annotated[dt.date, _strict(parse_day, "date_format", "a date YYYY-MM-DD"), WithJsonSchema(_DATE)]
# A span such as 30d, 12h or 2w.
Duration = Annotated[
    dt.timedelta,
    _strict(parse_duration, "duration_format", "a duration such as 30d"),
    WithJsonSchema({"type": "string", "pattern": "^[0-9]{1,6}[hdw]$"}),
]
# A query flag: exactly true or false.
Flag = Annotated[bool, _strict(parse_bool, "bool_parsing", "true or false"), WithJsonSchema({"type": "boolean"})]


def count(minimum: int = 0, maximum: int = MAX_INT63) -> Any:
    """A whole number in ASCII digits within [minimum, maximum], for query parameters and path segments."""
    return Annotated[
        int,
        _strict(
            lambda text: parse_count(text, minimum=minimum, maximum=maximum),
            "int_parsing",
            f"a whole number from {minimum} to {maximum}",
        ),
        WithJsonSchema({"type": "integer", "minimum": minimum, "maximum": maximum}),
    ]


Id = count(1)  # every id we issue: positive and within PostgreSQL bigint


def free_text(max_length: int) -> Any:
    """One line of printable text of at most `max_length` characters (a string, never coerced)."""
    return Annotated[
        str,
        _strict(lambda text: check_free_text(text, max_length=max_length), "string_text", "text"),
        WithJsonSchema({"type": "string", "maxLength": max_length}),
    ]


def text_block(max_length: int) -> Any:
    """Printable text that may span lines (a statement, a justification): each line as `free_text`."""

    def check(text: str) -> str:
        if len(text) > max_length:
            raise ParameterError(f"is {len(text)} characters long: expected at most {max_length} characters")
        for line in text.replace("\r\n", "\n").split("\n"):
            check_free_text(line, max_length=max_length)
        return text

    return Annotated[
        str,
        _strict(check, "string_text", "text"),
        WithJsonSchema({"type": "string", "maxLength": max_length}),
    ]


Note = free_text(NOTE_MAX_LENGTH)

# Identifiers with an ASCII grammar ([0-9], not \d: pydantic's \d also matches Arabic-Indic and fullwidth digits).
AccountId = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]
Region = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$", max_length=32)]
