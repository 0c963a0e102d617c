"""A streamed merge of sorted streams, grouped by key: what two runs hold for one resource, one resource at a time.

    grouped_merge([stream, ...], key) -> (key, [rows of stream 0, rows of stream 1, ...]), in key order

Each stream must be sorted by `key` (ascending, Python's order). Rows are grouped per stream first (itertools'
groupby, in C), then the groups are merged, so the Python work follows resources rather than rows; only the rows of
the current key are held, so memory follows the largest resource, not the runs. A stream whose key goes backwards
(or comes back) raises `StoreError`: a merge over unsorted input would report differences that do not exist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import groupby
from typing import Any, TypeVar

from core.errors import StoreError

Row = TypeVar("Row")
_END: Any = object()
_NONE: list[Any] = []  # shared, never mutated: the rows of a stream that has nothing for a key


def _groups(stream: Iterator[Row], key: Callable[[Row], Any], index: int) -> Iterator[tuple[Any, list[Row]]]:
    previous = None
    for at, rows in groupby(stream, key):
        if previous is not None and at <= previous:
            raise StoreError(
                f"stream {index} of the merge went backwards ({at!r} after {previous!r}): the database did not "
                "return rows in code point order",
                hint='on PostgreSQL, check the database\'s collation; the diff asks for COLLATE "C" when it is '
                "not C or C.UTF-8",
            )
        previous = at
        yield at, list(rows)


def grouped_merge(streams: Sequence[Iterator[Row]], key: Callable[[Row], Any]) -> Iterator[tuple[Any, list[list[Row]]]]:
    """Every key present in any stream, ascending, with each stream's rows for it (an empty list where absent)."""
    grouped = [_groups(iter(stream), key, index) for index, stream in enumerate(streams)]
    heads = [next(group, _END) for group in grouped]
    count = len(heads)
    while True:
        current = None
        for head in heads:
            if head is not _END and (current is None or head[0] < current):
                current = head[0]
        if current is None:
            return
        rows: list[list[Row]] = [_NONE] * count
        for index in range(count):
            head = heads[index]
            if head is not _END and head[0] == current:
                rows[index] = head[1]
                heads[index] = next(grouped[index], _END)
        yield current, rows
