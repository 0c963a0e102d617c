"""Derived OSCAL identifiers: UUIDs equal to uuid5 of their documented names, and control ids that are OSCAL tokens,
one per control of every packaged catalog."""

from __future__ import annotations

import io
import json
import re
import uuid

import orjson
import pytest

from frameworks.loader import load_catalogs
from reports.errors import PacketBuildError
from reports.oscal.ids import ROOT, Ids, control_token, control_tokens
from reports.oscal.jsonstream import Encoded, Stream, write_document

TOKEN = re.compile(r"^[_A-Za-z][_A-Za-z0-9.\-]*$")  # OSCAL's token (NCName) for the ASCII ids we make
UUID5 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_uuids_are_uuid5_of_the_export_and_the_subject() -> None:
    ids = Ids.for_packet("PKT-1")
    assert ids.namespace == uuid.uuid5(ROOT, "packet:PKT-1")
    for parts in [("observation", "evidence", 42), ("risk", "s3.x", "111", "us-east-1", "arn:aws:s3:::a|1:b", None)]:
        kind, *rest = parts
        name = kind + "".join(f"|{len(str(p))}:{p}" for p in rest)
        assert ids(*parts) == str(uuid.uuid5(ids.namespace, name))
        assert UUID5.match(ids(*parts))
    # every version and variant digit, whatever the hash: 200 subjects cover all four variant digits (8, 9, a, b)
    variants = set()
    for index in range(200):
        made = ids("inventory", "111122223333", "eu-west-1", f"arn:aws:s3:::bücket-{index}")
        name = (
            f"inventory|12:111122223333|9:eu-west-1|{len(f'arn:aws:s3:::bücket-{index}')}:arn:aws:s3:::bücket-{index}"
        )
        assert made == str(uuid.uuid5(ids.namespace, name))
        variants.add(made[19])
    assert variants == set("89ab")
    # parts cannot run into each other, and another export never shares a UUID
    assert ids("x", "ab", "c") != ids("x", "a", "bc")
    assert ids("x", 1) != Ids.for_packet("PKT-2")("x", 1)
    assert (
        Ids.for_export({"framework": "soc2", "accounts": []}).namespace
        == Ids.for_export({"accounts": [], "framework": "soc2"}).namespace
    )  # canonical JSON: key order does not matter


@pytest.mark.parametrize("count", [0, 1, 3, 300])
def test_a_batch_of_uuids_is_minted_as_each_alone(count: int) -> None:
    """`Ids.mint` lays out a batch's UUIDs together: each is still uuid5 of its own name (every variant digit, names
    of any length and script), in the order the names came."""
    ids = Ids.for_packet("PKT-1")
    names = [f"observation|8:evidence|{len(str(i))}:{i}" + "ü" * (i % 7) + "x" * (i % 90) for i in range(count)]
    minted = ids.mint(names)
    assert minted == [str(uuid.uuid5(ids.namespace, name)).encode("ascii") for name in names]
    assert [uuid.decode() for uuid in minted] == [ids.named(name) for name in names]
    if count >= 300:
        assert {uuid[19:20] for uuid in minted} == {b"8", b"9", b"a", b"b"}


@pytest.mark.parametrize(
    ("framework", "control", "token"),
    [
        ("hipaa", "164.312(a)(2)(iv)", "hipaa-164.312.a.2.iv"),
        ("pci-dss", "8.4.2", "pci-dss-8.4.2"),
        ("soc2", "CC6.1", "soc2-CC6.1"),
        ("9box", "A 1/2", "_9box-A.1.2"),
    ],
)
def test_control_ids_become_tokens(framework: str, control: str, token: str) -> None:
    assert control_token(framework, control) == token


def test_every_packaged_control_has_its_own_token() -> None:
    for loaded in load_catalogs():
        catalog = loaded.catalog
        tokens = control_tokens(catalog.id, [control.id for control in catalog.controls])
        assert all(TOKEN.match(token) for token in tokens.values())
        assert len(set(tokens.values())) == len(catalog.controls)


def test_two_ids_that_would_share_a_token_are_refused() -> None:
    with pytest.raises(PacketBuildError, match=r"controls '1\(a\)' and '1.a' of x both become the OSCAL control id"):
        control_tokens("x", ["1(a)", "1.a"])


def test_an_empty_stream_leaves_its_key_out() -> None:
    out = io.BytesIO()
    write_document({"a": Stream([]), "b": Stream(iter([{"x": 1}, {"x": 2}])), "c": [1]}, out)
    assert json.loads(out.getvalue()) == {"b": [{"x": 1}, {"x": 2}], "c": [1]}
    assert out.getvalue() == b'{"b":[\n{"x":1},\n{"x":2}\n],"c":[1]}\n'  # one item per line


@pytest.mark.parametrize("count", [1, 2, 63, 64, 65, 129])  # around the writer's batches of 64
def test_a_stream_is_every_item_one_per_line_in_order(count: int) -> None:
    items = [{"n": n, "text": f"item {n}"} if n % 3 else orjson.Fragment(b'{"n":%d}' % n) for n in range(count)]
    out = io.BytesIO()
    write_document({"items": Stream(iter(items))}, out)
    lines = out.getvalue().split(b"\n")
    assert lines[0] == b'{"items":[' and lines[-2:] == [b"]}", b""]
    assert lines[1:-2] == [orjson.dumps(item) + (b"," if n < count - 1 else b"") for n, item in enumerate(items)]
    assert [entry["n"] for entry in json.loads(out.getvalue())["items"]] == list(range(count))


def test_a_stream_of_encoded_chunks_and_plain_items_is_the_array_of_them_all() -> None:
    """`Encoded` chunks (several items already encoded, as the evidence arrays yield them) mixed with plain items,
    first or not, across batches: one array of every item in order, one item per line."""
    chunk = Encoded(b'{"b":2},\n{"c":3}')
    items: list[object] = [{"a": 1}, chunk, {"d": [4]}, {"e": 5}, Encoded(b'{"f":6}')] * 30
    sink = io.BytesIO()
    write_document({"x": Stream(items), "y": Stream([Encoded(b'{"z":0}'), {"w": 1}])}, sink)
    text = sink.getvalue()
    expected = [{"a": 1}, {"b": 2}, {"c": 3}, {"d": [4]}, {"e": 5}, {"f": 6}] * 30
    assert json.loads(text) == {"x": expected, "y": [{"z": 0}, {"w": 1}]}
    one_per_line = b",\n".join(json.dumps(item, separators=(",", ":")).encode() for item in expected)
    assert text.startswith(b'{"x":[\n' + one_per_line + b'\n],"y":[\n')
