"""Where a packet build's time goes: each stage's start, end and CPU, in the process that ran it (issue 18).

    .venv/bin/python bench/packet_timeline.py [--size 1000000] [--bundle] [--store-only]

Builds the packet `bench/packet.py` builds (the same synthetic store, cached in bench/out/, recorded first if
missing) and prints one line per stage boundary to stderr: seconds since the build started, the process id (the
OSCAL documents, the POA&M and the body run in forked children), and at each stage's end its user and system CPU.
The stages are wrapped here, in the benchmark, so the product carries no timing code. Profile one stage further
with py-spy (`py-spy record -f raw -- .venv/bin/python bench/packet_timeline.py ...`).
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import runpy
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT), *(entry for entry in sys.path if Path(entry or ".").resolve() != ROOT / "bench")]

STAGES = {
    "reports.packet": (
        "write_payloads",
        "write_findings",
        "collect_inventory",
        "write_manifest_entries",
        "render_pdf",
        "sign_pdf",
        "write_bundle",
    ),
    "reports.oscal.packet": ("write_for_packet", "_write"),  # _write(context, documents, ...): named by its documents
}
_started = time.perf_counter()


def _log(message: str) -> None:
    print(f"{time.perf_counter() - _started:8.2f} [{os.getpid()}] {message}", file=sys.stderr, flush=True)


def _timed(name: str, action: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(action)
    def run(*args: Any, **kwargs: Any) -> Any:
        label = f"write {', '.join(document.name for document in args[1])}" if name == "_write" else name
        before = os.times()
        _log(f"> {label}")
        try:
            return action(*args, **kwargs)
        finally:
            after = os.times()
            _log(f"< {label}  user {after.user - before.user:.2f} s  sys {after.system - before.system:.2f} s")

    return run


def main() -> None:
    global _started
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--bundle", action="store_true", help="also write the bundle (and the OSCAL documents)")
    parser.add_argument("--store-only", action="store_true", help="record the synthetic store, build nothing")
    options = parser.parse_args()
    for module_name, names in STAGES.items():
        module = importlib.import_module(module_name)
        for name in names:
            setattr(module, name, _timed(name, getattr(module, name)))
    bench = runpy.run_path(str(ROOT / "bench" / "packet.py"), run_name="packet_timeline")
    store = bench["ensure_store"](options.size)
    if options.store_only:
        return
    _started = time.perf_counter()
    _log(f"build of {options.size:,} items{' with its bundle' if options.bundle else ''}")
    bench["child"](options.size, store, options.bundle)  # prints the benchmark's own figures as JSON
    _log("end")


if __name__ == "__main__":
    main()
