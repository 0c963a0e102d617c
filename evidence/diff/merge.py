"""A streamed merge of sorted streams, grouped by key: what two runs hold for one resource, one resource at a time.

    grouped_merge([stream, ...], key) -> (key, [rows of stream 0, rows of stream 1, ...]), in key order

Each stream must be sorted by `key` (ascending, Python's order). Only the rows of the current key are held, so
memory follows the largest resource, not the runs. A stream whose key goes backwards raises `StoreError`: a merge
over unsorted input would report differences that do not exist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from core.errors import StoreError

Row = TypeVar("Row")
_END = object()


class _Cursor:
    """One stream and its next row, with the order check."""

    def __init__(self, stream: Iterator[Any], key: Callable[[Any], Any], index: int) -> None:
        self._stream, self._key, self.index = stream, key, index
        self.row: Any = _END
        self.at: Any = None
        self.advance()

    @property
    def done(self) -> bool:
        return self.row is _END

    def advance(self) -> None:
        previous = self.at
        self.row = next(self._stream, _END)
        if self.row is _END:
            return
        self.at = self._key(self.row)
        if previous is not None and self.at < previous:
            raise StoreError(
                f"stream {self.index} of the merge went backwards ({self.at!r} after {previous!r}): the database "
                "did not return rows in code point order",
                hint='on PostgreSQL, check the database\'s collation; the diff asks for COLLATE "C" when it is '
                "not C or C.UTF-8",
            )


def grouped_merge(streams: Sequence[Iterator[Row]], key: Callable[[Row], Any]) -> Iterator[tuple[Any, list[list[Row]]]]:
    """Every key present in any stream, ascending, with each stream's rows for it (an empty list where absent)."""
    cursors = [_Cursor(iter(stream), key, index) for index, stream in enumerate(streams)]
    while True:
        live = [cursor for cursor in cursors if not cursor.done]
        if not live:
            return
        current = min(cursor.at for cursor in live)
        groups: list[list[Row]] = [[] for _ in cursors]
        for cursor in live:
            while not cursor.done and cursor.at == current:
                groups[cursor.index].append(cursor.row)
                cursor.advance()
        yield current, groups
