"""core.heap: start-up objects leave the collector's generations, and garbage made afterwards is still collected."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_settle_freezes_start_up_objects_and_still_collects_cycles() -> None:
    # In a child process: the collector's state is process-wide and must not leak into the test session.
    script = textwrap.dedent(
        """
        import gc, weakref
        from core import heap

        kept = [object() for _ in range(1000)]
        heap.settle()
        assert gc.get_freeze_count() >= 1000, gc.get_freeze_count()
        assert gc.get_threshold()[0] == heap.YOUNG_THRESHOLD
        frozen = gc.get_freeze_count()
        later = [object() for _ in range(1000)]
        heap.settle()  # once per process: what came after start-up stays collectable
        assert gc.get_freeze_count() == frozen

        class Node:
            pass

        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle: only the collector frees it
        gone = weakref.ref(a)
        del a, b
        gc.collect()
        assert gone() is None
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_collecting_less_collects_cycles_less_often_and_restores_the_thresholds() -> None:
    script = textwrap.dedent(
        """
        import gc, weakref
        from core import heap

        before = gc.get_threshold()

        class Node:
            pass

        def cycle():
            a, b = Node(), Node()
            a.other, b.other = b, a
            return weakref.ref(a)

        with heap.collecting_less():
            assert gc.get_threshold() == heap.BULK_THRESHOLDS
            soon = cycle()
            [[] for _ in range(10_000)]  # tracked allocations: the defaults would have collected it by now
            assert soon() is not None
            late = cycle()
            keep = [[] for _ in range(3 * heap.BULK_THRESHOLDS[0])]  # tracked allocations: the collector runs
            assert late() is None, "cycles are still collected inside the block"
        assert gc.get_threshold() == before
        try:
            with heap.collecting_less():
                raise KeyError("x")
        except KeyError:
            pass
        assert gc.get_threshold() == before, "restored when the block fails too"
        # blocks overlapping in two threads (two packets built in one process): the last to leave restores
        import threading
        first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()

        def first():
            with heap.collecting_less():
                first_in.set()
                second_in.wait()
            first_out.set()

        worker = threading.Thread(target=first)
        worker.start()
        first_in.wait()
        with heap.collecting_less():
            second_in.set()
            first_out.wait()
            assert gc.get_threshold() == heap.BULK_THRESHOLDS, "the other thread's exit kept this block's setting"
        worker.join()
        assert gc.get_threshold() == before
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
