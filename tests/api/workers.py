"""`auditpack worker` subprocesses for the procrastinate tests (tests/api/test_procrastinate.py, tests/faults/)."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path


def start_worker(env: Mapping[str, str], cwd: Path, concurrency: int = 1) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "auditpack", "worker", "--concurrency", str(concurrency)],
        cwd=cwd,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@contextmanager
def running_workers(
    env: Mapping[str, str], cwd: Path, count: int, *, concurrency: int = 1
) -> Iterator[list[subprocess.Popen[str]]]:
    """`count` workers (`concurrency` jobs at once each); on exit each still running gets SIGTERM (procrastinate's
    graceful stop), and the output of all of them is kept on `.output` for the test's messages."""
    workers = [start_worker(env, cwd, concurrency) for _ in range(count)]
    try:
        yield workers
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.output = worker.communicate(timeout=60)[0]  # type: ignore[attr-defined]
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.output = worker.communicate()[0]  # type: ignore[attr-defined]
