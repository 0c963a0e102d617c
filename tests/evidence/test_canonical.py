from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from kernel.canonical import CanonicalizationError, canonical_json, content_address, rfc3339


def test_key_order_does_not_change_the_bytes_or_the_hash() -> None:
    a = {"b": 1, "a": {"y": [1, 2], "x": None}}
    b = {"a": {"x": None, "y": [1, 2]}, "b": 1}
    assert canonical_json(a) == canonical_json(b) == b'{"a":{"x":null,"y":[1,2]},"b":1}'
    assert content_address(a)[0] == content_address(b)[0]


def test_list_order_is_significant_and_nested_lists_are_kept() -> None:
    assert canonical_json([[1, [2, 3]], {"k": [4]}]) == b'[[1,[2,3]],{"k":[4]}]'
    assert content_address([1, 2])[0] != content_address([2, 1])[0]


def test_non_ascii_text_is_raw_utf8_not_escaped() -> None:
    data = canonical_json({"owner": "Zoë Ångström", "note": "日本"})
    assert data == '{"note":"日本","owner":"Zoë Ångström"}'.encode()
    assert b"\\u" not in data


def test_datetimes_are_rfc3339_utc_whatever_their_zone() -> None:
    utc = datetime(2026, 11, 27, 22, 31, tzinfo=UTC)
    plus_two = utc.astimezone(timezone(timedelta(hours=2)))
    assert canonical_json({"t": plus_two}) == b'{"t":"2026-11-27T22:31:00Z"}'
    assert rfc3339(utc.replace(microsecond=5)) == "2026-11-27T22:31:00.000005Z"
    assert canonical_json(date(2026, 1, 2)) == b'"2026-01-02"'


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"t": datetime(2026, 1, 1)}, "naive datetime"),
        ({1: "x"}, "is not a string"),
        ({"f": float("nan")}, "not representable"),
        ({"o": object()}, "have no JSON form"),
    ],
)
def test_values_without_one_canonical_form_are_refused_with_their_path(value: object, message: str) -> None:
    with pytest.raises(CanonicalizationError, match=message):
        canonical_json(value)


def test_decimals_bytes_and_sets_have_stable_forms() -> None:
    assert canonical_json({"n": Decimal("10"), "f": Decimal("1.5")}) == b'{"f":1.5,"n":10}'
    assert canonical_json(b"\x00\x01") == b'{"$base64":"AAE="}'
    assert canonical_json({"s": {"b", "a"}}) == canonical_json({"s": ["a", "b"]})
