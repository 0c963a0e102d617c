"""Benchmark: `auditpack demo` end to end, as `make demo` runs it (a fresh process each time).

    .venv/bin/python bench/demo.py [--runs 3] [--workers N]

Each run writes into a fresh temporary directory (a first run: empty store, the local CA generated) and prints
the wall time of the process and the demo's own phases (build, collect, customer evidence, packets, verify), then
the medians.
Target on a 2-core machine: under 60 s for the whole process. `--workers 1` builds the packets one after the
other (`auditpack demo --workers 1`), to measure what the parallel packet processes gain.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PHASES = ("build", "collect", "customer evidence", "packets", "verify", "total")


def one_run(workers: int | None) -> dict[str, float]:
    extra = ["--workers", str(workers)] if workers is not None else []
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "auditpack", "demo", "--out", str(Path(tmp) / "demo"), "--format", "json", *extra],
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"auditpack demo failed ({done.returncode}):\n{done.stderr}")
    seconds = json.loads(done.stdout)["seconds"]
    return {**seconds, "process": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description="auditpack demo end to end")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None, help="packet worker processes (default: one per core)")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}; load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    runs = []
    for index in range(args.runs):
        run = one_run(args.workers)
        runs.append(run)
        print(f"run {index + 1}: " + ", ".join(f"{name} {run[name]:.1f} s" for name in (*PHASES, "process")))
    medians = {name: statistics.median(run[name] for run in runs) for name in (*PHASES, "process")}
    print("median: " + ", ".join(f"{name} {value:.1f} s" for name, value in medians.items()))
    verdict = "met" if medians["process"] < 60 else "NOT met"
    print(f"target: the whole process under 60 s: {verdict} ({medians['process']:.1f} s)")


if __name__ == "__main__":
    main()
