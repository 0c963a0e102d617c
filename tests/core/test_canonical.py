"""Canonical JSON in both versions: the normalisation they share, version 1 pinned byte for byte (stored hashes
depend on it), and version 2 checked against RFC 8785 from outside (the reference implementation's test data, the
RFC's number samples, and `rfc8785.dumps` itself)."""

import hashlib
import json
import struct
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import rfc8785

from core.canonical import (
    CURRENT_VERSION,
    JCS,
    LEGACY,
    VERSIONS,
    CanonicalizationError,
    CanonicalVersionError,
    canonical_json,
    content_address,
    rfc3339,
)


def test_new_records_are_written_in_rfc_8785() -> None:
    assert CURRENT_VERSION == JCS == 2
    assert canonical_json({"x": 1.0}, version=CURRENT_VERSION) == b'{"x":1}'


# -- what both versions share -----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_key_order_does_not_change_the_bytes_or_the_hash(version: int) -> None:
    a = {"b": 1, "a": {"y": [1, 2], "x": None}}
    b = {"a": {"x": None, "y": [1, 2]}, "b": 1}
    assert (
        canonical_json(a, version=version) == canonical_json(b, version=version) == b'{"a":{"x":null,"y":[1,2]},"b":1}'
    )
    assert content_address(a, version=version)[0] == content_address(b, version=version)[0]


@pytest.mark.parametrize("version", VERSIONS)
def test_list_order_is_significant_and_nested_lists_are_kept(version: int) -> None:
    assert canonical_json([[1, [2, 3]], {"k": [4]}], version=version) == b'[[1,[2,3]],{"k":[4]}]'
    assert content_address([1, 2], version=version)[0] != content_address([2, 1], version=version)[0]


@pytest.mark.parametrize("version", VERSIONS)
def test_non_ascii_text_is_raw_utf8_not_escaped(version: int) -> None:
    data = canonical_json({"owner": "Zoë Ångström", "note": "日本"}, version=version)
    assert data == '{"note":"日本","owner":"Zoë Ångström"}'.encode()
    assert b"\\u" not in data


@pytest.mark.parametrize("version", VERSIONS)
def test_datetimes_are_rfc3339_utc_whatever_their_zone(version: int) -> None:
    utc = datetime(2026, 11, 27, 22, 31, tzinfo=UTC)
    plus_two = utc.astimezone(timezone(timedelta(hours=2)))
    assert canonical_json({"t": plus_two}, version=version) == b'{"t":"2026-11-27T22:31:00Z"}'
    assert rfc3339(utc.replace(microsecond=5)) == "2026-11-27T22:31:00.000005Z"
    assert canonical_json(date(2026, 1, 2), version=version) == b'"2026-01-02"'


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"t": datetime(2026, 1, 1)}, r"^\$\.t: naive datetime"),
        ({1: "x"}, "key 1 is not a string"),
        ({"f": float("nan")}, r"^\$\.f: nan is not representable"),
        ({"d": [Decimal("Infinity")]}, r"^\$\.d\[0\]: Infinity is not representable"),
        ({"o": object()}, "have no JSON form"),
        ({"tags": {"Name": "a\ud800b"}}, r"^\$\.tags\.Name: text holds '\\ud800' at offset 1, which is not a Unicode"),
        ({"bad\udfff": 1}, "lone surrogate"),
    ],
)
def test_values_without_one_canonical_form_are_refused_with_their_path(
    version: int, value: object, message: str
) -> None:
    with pytest.raises(CanonicalizationError, match=message):
        canonical_json(value, version=version)


@pytest.mark.parametrize("version", VERSIONS)
def test_decimals_bytes_and_sets_have_stable_forms(version: int) -> None:
    assert canonical_json({"n": Decimal("10"), "f": Decimal("1.5")}, version=version) == b'{"f":1.5,"n":10}'
    assert canonical_json(b"\x00\x01", version=version) == b'{"$base64":"AAE="}'
    assert canonical_json({"s": {"b", "a"}}, version=version) == canonical_json({"s": ["a", "b"]}, version=version)


@pytest.mark.parametrize("version", [0, 3, None, "2"])
def test_an_unknown_version_is_refused_not_guessed(version: object) -> None:
    with pytest.raises(CanonicalVersionError, match="unknown to this auditpack"):
        canonical_json({"a": 1}, version=version)  # type: ignore[arg-type]


# -- version 1: auditpack's legacy form, pinned -------------------------------------------------------------------

# Where the versions differ: numbers (Python's float repr against ECMAScript's) and the order of keys beyond the
# Basic Multilingual Plane (code points against UTF-16 code units). Every stored version 1 hash depends on these.
DIFFERING = {
    "one": 1.0,
    "big": 1e21,
    "small": 1e-7,
    "wide": 123456789012345680000.0,
    "negative_zero": -0.0,
    "keys": {"\U0001f600": "grinning face", "\ufb01": "fi ligature"},
}
LEGACY_BYTES = (
    '{"big":1e+21,"keys":{"\ufb01":"fi ligature","\U0001f600":"grinning face"},"negative_zero":-0.0,"one":1.0,'
    '"small":1e-07,"wide":1.2345678901234568e+20}'
).encode()
JCS_BYTES = (
    '{"big":1e+21,"keys":{"\U0001f600":"grinning face","\ufb01":"fi ligature"},"negative_zero":0,"one":1,'
    '"small":1e-7,"wide":123456789012345680000}'
).encode()


def test_version_1_is_the_legacy_form_byte_for_byte() -> None:
    assert canonical_json(DIFFERING, version=LEGACY) == LEGACY_BYTES
    assert (
        json.dumps(DIFFERING, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode(
            "utf-8"
        )
        == LEGACY_BYTES
    )


def test_version_2_writes_numbers_and_orders_keys_as_rfc_8785_does() -> None:
    assert canonical_json(DIFFERING, version=JCS) == JCS_BYTES
    assert content_address(DIFFERING, version=JCS)[0] != content_address(DIFFERING, version=LEGACY)[0]


def test_integers_beyond_doubles_are_refused_in_version_2_and_kept_in_version_1() -> None:
    limit = 2**53 - 1
    assert canonical_json([limit, -limit], version=JCS) == b"[9007199254740991,-9007199254740991]"
    with pytest.raises(CanonicalizationError, match=r"^\$\.size: integer 9007199254740992 is beyond"):
        canonical_json({"size": 2**53}, version=JCS)
    with pytest.raises(CanonicalizationError, match=r"^\$\.n\[1\]: integer -10000000000000000000000 is beyond"):
        canonical_json({"n": [1, Decimal("-1E22")]}, version=JCS)
    # Version 1 wrote them as Python does; stored rows hashed that way must still verify.
    assert canonical_json({"size": 2**53}, version=LEGACY) == b'{"size":9007199254740992}'


# -- version 2 against RFC 8785, from outside ---------------------------------------------------------------------

# Input JSON text and the expected output, from the test data of the RFC 8785 reference implementation
# (github.com/cyberphone/json-canonicalization, testdata/input and testdata/output).
VECTORS = {
    "values": (
        '{"numbers": [1E30, 4.50, 333333333.33333329, 2e-3, 0.000000000000000000000000001],'
        ' "escaping": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
        '{"escaping":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/","literals":[null,true,false],'
        '"numbers":[1e+30,4.5,333333333.3333333,0.002,1e-27]}',
    ),
    "weird": (
        '{"\\u20ac": "Euro Sign", "1": "One", "\\u0080": "Control\\u007f", "\\ud83d\\ude02": "Smiley",'
        ' "\\u00f6": "Latin Small Letter O With Diaeresis", "\\ufb33": "Hebrew Letter Dalet With Dagesh",'
        ' "</script>": "Browser Challenge"}',
        '{"1":"One","</script>":"Browser Challenge","\u0080":"Control\u007f","ö":"Latin Small Letter O With Diaeresis",'
        '"€":"Euro Sign","\U0001f602":"Smiley","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    ),
    "structures": (
        '{"1": {"f": {"f": "hi","F": 5} ,"\\n": 56.0}, "10": { }, "": "empty", "a": { }, "111": [ { } ], "A": { }}',
        '{"":"empty","1":{"\\n":56,"f":{"F":5,"f":"hi"}},"10":{},"111":[{}],"A":{},"a":{}}',
    ),
    "unicode": ('{"Unnormalized Unicode":"\\u1e0d\\u0307"}', '{"Unnormalized Unicode":"\u1e0d\u0307"}'),
}


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_rfc_8785_reference_test_data(name: str) -> None:
    given, expected = VECTORS[name]
    assert canonical_json(json.loads(given), version=JCS) == expected.encode("utf-8")


# IEEE 754 bit patterns and their JCS text, from RFC 8785 appendix B.
NUMBERS = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


@pytest.mark.parametrize(("bits", "text"), NUMBERS)
def test_rfc_8785_number_samples(bits: str, text: str) -> None:
    (number,) = struct.unpack(">d", bytes.fromhex(bits))
    assert canonical_json(number, version=JCS) == text.encode("ascii")


def test_a_payload_hashes_as_rfc8785_dumps_of_its_normalised_form() -> None:
    """What another implementation does: take the payload as JSON (datetimes already RFC 3339 text, as they are in
    every stored payload) and hash its RFC 8785 serialisation."""
    observed = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
    payload = {
        "Bucket": "audit-logs",
        "CreationDate": observed,
        "Tags": {"Owner": "platform", "Cost-Centre €": "4711", "\U0001f512": "locked"},
        "Policy": {"Statement": [{"Effect": "Deny", "Condition": {"NumericLessThan": {"s3:TlsVersion": 1.2}}}]},
        "SizeBytes": 5_497_558_138_880,
        "Ratio": 0.1 + 0.2,
        "Versioning": None,
        "Enabled": True,
    }
    as_json = {**payload, "CreationDate": "2026-03-04T05:06:07.890000Z"}
    sha256, data = content_address(payload, version=JCS)
    assert data == rfc8785.dumps(as_json)
    assert sha256 == hashlib.sha256(rfc8785.dumps(json.loads(data))).hexdigest()
