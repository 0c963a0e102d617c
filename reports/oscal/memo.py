"""A bounded memo for the OSCAL export's per-item work (owners, kinds, timestamps repeat across a million items)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

_K = TypeVar("_K")
_V = TypeVar("_V")
_LIMIT = 4096  # entries per cache: owners, kinds and timestamps repeat, but nothing bounds their variety


class Cached(dict[_K, _V]):
    """`make` remembered per key (a hit is a plain dict lookup, at C speed), forgetting everything once full so
    that memory stays bounded."""

    def __init__(self, make: Callable[[_K], _V]) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, key: _K) -> _V:
        if len(self) >= _LIMIT:
            self.clear()
        found = self[key] = self._make(key)
        return found
