"""Writing a JSON document whose big arrays are produced while it is written.

A document is plain dicts and lists in which some values are `Stream`s (iterables of JSON-ready items). Dicts
keep their insertion order, which is the order keys are written, so a stream may rely on an earlier one having
run (findings after the observations they point at). OSCAL arrays hold at least one item: a stream that turns out
empty drops its key instead of writing `[]`. Items are written one per line, compact, UTF-8. A stream may yield
`Encoded` chunks, items already encoded and joined by ITEM_SEPARATOR (the pre-encoded evidence arrays do, a batch at
a time): they are written as they are, which is what those items one by one would give.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any, Protocol

import orjson

_EMPTY = object()
ITEM_SEPARATOR = b",\n"  # between an array's items


def _encode(value: Any) -> bytes:
    """Compact JSON as UTF-8, keys in insertion order (orjson: at a million items the standard library's encoder
    was the largest single cost of an export)."""
    return orjson.dumps(value)


class Sink(Protocol):
    def write(self, data: bytes, /) -> Any: ...


class Encoded:
    """Items of a stream already encoded: one or several, joined by ITEM_SEPARATOR (the pre-encoded evidence arrays
    yield a batch at a time), written as they are."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class Stream:
    """An array written item by item; `items` is iterated once, when the writer reaches it."""

    __slots__ = ("_factory",)

    def __init__(self, items: Iterable[Any] | Callable[[], Iterable[Any]]) -> None:
        self._factory = items if callable(items) else (lambda: items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._factory())


def write_document(document: dict[str, Any], out: Sink) -> None:
    _write(document, out)
    out.write(b"\n")


def _write(value: Any, out: Sink) -> None:
    if isinstance(value, dict):
        out.write(b"{")
        first = True
        for key, item in value.items():
            if isinstance(item, Stream):
                items = iter(item)
                head = next(items, _EMPTY)
                if head is _EMPTY:
                    continue  # OSCAL arrays are never empty: an empty stream leaves its key out
                _key(key, first, out)
                _array(head, items, out)
            else:
                _key(key, first, out)
                _write(item, out)
            first = False
        out.write(b"}")
    elif isinstance(value, list):
        out.write(b"[")
        for index, item in enumerate(value):
            if index:
                out.write(b",")
            _write(item, out)
        out.write(b"]")
    elif isinstance(value, Stream):
        raise TypeError("a Stream must be the value of a dict key (so an empty one can be left out)")
    else:
        out.write(_encode(value))


def _key(key: str, first: bool, out: Sink) -> None:
    out.write(_encode(key) + b":" if first else b"," + _encode(key) + b":")


_BATCH = 64


def _array(head: Any, rest: Iterator[Any], out: Sink) -> None:
    # Stream items are plain JSON (one encoder call each: a million of them is the common case); a structure
    # holding streams of its own (a result with its observations) goes in a plain list instead. Items are taken
    # and encoded a batch at a time, in C (islice, map): a loop and a write per item cost ~1 s per million.
    out.write(b"[\n")
    _items([head], b"", out)
    while batch := list(islice(rest, _BATCH)):
        _items(batch, ITEM_SEPARATOR, out)
    out.write(b"\n]")


def _items(batch: list[Any], separator: bytes, out: Sink) -> None:
    """Write a batch of items, the first after `separator`: runs of plain values encoded together, an Encoded
    chunk handed to `out` as it is (joined and copied again here, the 2.7 GB of a million-item assessment results
    took a second of CPU, issue 18)."""
    plain: list[Any] = []
    for item in batch:
        if item.__class__ is not Encoded:
            plain.append(item)
            continue
        if plain:
            out.write(separator + ITEM_SEPARATOR.join(map(orjson.dumps, plain)))
            plain, separator = [], ITEM_SEPARATOR
        out.write(separator)
        out.write(item.data)
        separator = ITEM_SEPARATOR
    if plain:
        out.write(separator + ITEM_SEPARATOR.join(map(orjson.dumps, plain)))
