"""Benchmark: `auditpack findings --format ocsf|asff --out FILE` over a store of 1,000,000 findings streams.

    .venv/bin/python bench/interchange.py [--sizes 1000000] [--runs 3] [--formats ocsf asff] [--postgres URL]

Each export runs as the real command (`python -m auditpack findings --run ID --format F --out FILE`) in a fresh
process; the figures are its wall time, CPU time and peak RSS (from wait4, the process's own), median over --runs,
and the file written. The synthetic store (one sealed run and its findings, bench/packet.py's generator: 20 accounts,
5 regions, every registered check) is built once and cached in bench/out/ (SQLite), or in a fresh schema of the
PostgreSQL database given with --postgres; building it is not part of the figures.
Target: 1,000,000 findings with peak RSS <= 300 MB (the export holds one page of 2,000 findings at a time).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.packet import ACCOUNTS, OUT, findings_for  # noqa: E402
from evidence.checks.thresholds import Thresholds  # noqa: E402
from evidence.db import make_engine  # noqa: E402
from evidence.findings import save_findings  # noqa: E402
from evidence.store import EvidenceStore  # noqa: E402
from migrations.schema import upgrade_schema  # noqa: E402


def _fill(url: str, size: int) -> int:
    engine = make_engine(url)
    upgrade_schema(engine)
    store = EvidenceStore(engine)
    run = store.start_run(trigger="cli", requested_by="bench", scope={"accounts": ACCOUNTS})
    store.finish_run(run.id)
    started = time.perf_counter()
    save_findings(store, run.id, findings_for(size), thresholds=Thresholds())
    print(f"stored {size:,} findings in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    engine.dispose()
    return run.id


def sqlite_store(size: int) -> tuple[str, int]:
    path = OUT / f"findings-{size}.db"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        _fill_in_child(f"sqlite:///{partial}", size)
        partial.rename(path)
    return f"sqlite:///{path}", 1


def _fill_in_child(url: str, size: int) -> int:
    """Build the store in its own process, so that this one stays as small as when it started."""
    command = [sys.executable, __file__, "--fill", url, "--sizes", str(size)]
    return int(subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])


def postgres_store(base_url: str, size: int) -> tuple[str, int]:
    from sqlalchemy import create_engine, text

    from tests.conftest import schema_url

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with create_engine(base_url).begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = schema_url(base_url, schema)
    return url, _fill_in_child(url, size)


def _peak_rss_kb(pid: int) -> int:
    """The process's high-water RSS so far (Linux VmHWM), 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(url: str, run_id: int, fmt: str, out: Path) -> tuple[float, float, int, float]:
    """(wall seconds, peak RSS MB, bytes written, CPU seconds) of one export in a fresh process. CPU time is the
    figure to compare on a shared machine, where the wall time also counts waiting for a core.

    The peak is the process's own VmHWM, read every 0.1 s (monotonic, so the last reading holds): wait4's
    ru_maxrss would also count the pages it shared with this process between fork and exec."""
    env = {**os.environ, "AUDITPACK_DATABASE_URL": url, "AUDITPACK_DATA_DIR": str(OUT / "data")}
    command = [sys.executable, "-m", "auditpack", "findings", "--run", str(run_id), "--format", fmt, "--out", str(out)]
    if fmt == "asff":
        command += ["--region", "us-east-1"]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while True:
        peak = max(peak, _peak_rss_kb(process.pid))
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.1)
    wall = time.perf_counter() - started
    stderr = process.stderr.read().decode() if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"export failed: {stderr}")
    return wall, peak / 1024, out.stat().st_size, usage.ru_utime + usage.ru_stime


def drop_schema(base_url: str, url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = make_url(url).query["options"].removeprefix("-csearch_path=")
    with create_engine(base_url).begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def report(url: str, run_id: int, size: int, formats: list[str], runs: int) -> None:
    for fmt in formats:
        out = OUT / f"findings-{size}.{fmt}.ndjson"
        results = [measure(url, run_id, fmt, out) for _ in range(runs)]
        wall = statistics.median(r[0] for r in results)
        rss = statistics.median(r[1] for r in results)
        cpu = statistics.median(r[3] for r in results)
        size_mb = results[-1][2] / 2**20
        figures = f"{wall:>8.1f} {cpu:>7.1f} {rss:>11.0f} {size_mb:>8.0f} {size / wall:>8.0f}"
        print(f"{size:>10,} {fmt:>6} {runs:>4} {figures}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--formats", nargs="+", choices=["ocsf", "asff"], default=["ocsf"])
    parser.add_argument("--postgres", metavar="URL", help="build the store in a new schema of this database")
    parser.add_argument("--fill", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fill:
        print(_fill(args.fill, args.sizes[0]))
        return
    header = f"{'findings':>10} {'format':>6} {'runs':>4} {'wall s':>8} {'CPU s':>7} {'peak RSS MB':>11} {'file MB':>8}"
    print(f"{header} {'lines/s':>8}")
    for size in args.sizes:
        url, run_id = postgres_store(args.postgres, size) if args.postgres else sqlite_store(size)
        try:
            report(url, run_id, size, args.formats, args.runs)
        finally:
            if args.postgres:
                drop_schema(args.postgres, url)


if __name__ == "__main__":
    main()
