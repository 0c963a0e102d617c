"""Garbage-collector settings for long-lived processes that allocate fast (collection workers).

After start-up a worker holds some 300,000 tracked objects (modules, botocore's parsed models); every full
collection walks them all, and creating botocore clients (thousands per collection) triggers one every few
clients: measured, a client cost 3.4 ms without a full collection and 15 ms with one. Freezing the start-up
objects moves them out of the collector's generations (they live as long as the process anyway), and a larger
first generation collects less often; cycles are still collected.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 10_000  # CPython's default is 700 allocations
BULK_THRESHOLDS = (100_000, 50, 1000)  # `collecting_less`: young, middle, old
_bulk_lock = threading.Lock()
_bulk_depth = 0  # blocks inside `collecting_less`, in every thread
_bulk_saved: tuple[int, int, int] = gc.get_threshold()
_settled = False


def settle() -> None:
    """Freeze everything allocated so far and collect the young generation less often, once per process (after
    start-up; later calls do nothing, so a process running several commands does not freeze their garbage)."""
    global _settled
    if _settled:
        return
    _settled = True
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


@contextmanager
def collecting_less() -> Iterator[None]:
    """Collect a hundred times less often inside the block (cycles are still collected), then as before. For work
    that allocates millions of short-lived objects, few of them in cycles: a packet's build (its forked stages
    inherit the setting) and WeasyPrint's layout. At a million evidence items the collector walked the young
    objects of every stage ~2 s of CPU (of ~61) for almost nothing to free (issue 18). The thresholds are the
    process's: blocks entered by several threads at once share them, and the last to leave puts them back."""
    global _bulk_depth, _bulk_saved
    with _bulk_lock:
        if _bulk_depth == 0:
            _bulk_saved = gc.get_threshold()
            gc.set_threshold(*BULK_THRESHOLDS)
        _bulk_depth += 1
    try:
        yield
    finally:
        with _bulk_lock:
            _bulk_depth -= 1
            if _bulk_depth == 0:
                gc.set_threshold(*_bulk_saved)
