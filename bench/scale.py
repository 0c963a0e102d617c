"""Scale-out benchmark: a sharded collection (AUDITPACK_COLLECT_SHARDS) on 1 vs N `auditpack worker` processes.

moto_server holds an Organization (default 200 accounts) and sits behind a proxy that adds 50 ms to every call
(AWS's latency; tests/faults/throttle.py with nothing throttled). For each worker count a fresh PostgreSQL schema
gets one collection job (--org, --regions); a planner worker (one slot) takes the job, plans and waits, then the
shard workers start, each with the same slots and threads; the clock runs from the planner's start to the job's
end. It prints wall time, API calls (the run's statistics and the proxy's count), the speed-up and the time
extrapolated to 1,000 accounts x 17 regions at the N-worker throughput (calls per (account, region) as measured).

Usage: .venv/bin/python bench/scale.py [--accounts 200] [--regions us-east-1,eu-west-1] [--workers 1,4]
                                       [--slots 2] [--threads 4] [--latency 0.05]
Needs PostgreSQL: AUDITPACK_TEST_DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import boto3
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.models import Job, JobKind  # noqa: E402
from api.services import jobs  # noqa: E402
from evidence.db import make_engine, session_factory  # noqa: E402
from evidence.models import Run, RunShard  # noqa: E402
from migrations.schema import upgrade_schema  # noqa: E402
from tests.faults.throttle import throttling_proxy  # noqa: E402
from tests.moto_server import FAKE_AWS_ENV, UNSET_AWS_ENV  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from collect import start_server  # noqa: E402

PG = os.environ.get("AUDITPACK_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TARGET_ACCOUNTS, TARGET_REGIONS = 1000, 17


def seed(url: str, accounts: int) -> None:
    """An Organization of `accounts` accounts (the management account and accounts - 1 members)."""
    org = boto3.Session(region_name="us-east-1").client("organizations", endpoint_url=url)
    org.create_organization(FeatureSet="ALL")
    for i in range(accounts - 1):
        org.create_account(Email=f"m{i}@example.com", AccountName=f"m{i}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores (/proc/stat)."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]
    hz = os.sysconf("SC_CLK_TCK")
    return (sum(ticks) - idle) / hz, sum(ticks) / hz


def schema_url(schema: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(PG).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False)


def one_run(args: argparse.Namespace, proxy_url: str, workers: int, work: Path, server_pid: int) -> dict[str, float]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    url = schema_url(schema)
    engine = make_engine(url)
    upgrade_schema(engine)
    with session_factory(engine)() as session:
        job, _ = jobs.enqueue(
            session,
            kind=JobKind.COLLECT,
            payload={
                "scope": {"organization": True, "regions": args.regions.split(",")},
                "requested_by": "bench",
                "trigger": "api",
            },
            requested_by="bench",
            now=datetime.now(UTC),
        )
    env = {k: v for k, v in os.environ.items() if k not in UNSET_AWS_ENV}
    env.update(FAKE_AWS_ENV)
    env.update(
        AWS_ENDPOINT_URL=proxy_url,
        AUDITPACK_DATABASE_URL=url,
        AUDITPACK_DATA_DIR=str(work / schema),
        AUDITPACK_JOB_QUEUE="auto",
        AUDITPACK_SCHEDULE="",
        AUDITPACK_COLLECT_SHARDS="true",
        AUDITPACK_CHANGE_LOOKUPS="false",
        AUDITPACK_CONCURRENCY=str(args.threads),
        AUDITPACK_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )

    def worker(slots: int) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "auditpack", "worker", "--concurrency", str(slots)]
        return subprocess.Popen(command, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    started = time.monotonic()
    server_cpu, own_cpu, machine = cpu_seconds(server_pid), time.process_time(), machine_busy()
    processes = [worker(1)]  # the planner: its one slot runs the collection job, which plans and waits
    try:
        while True:
            with session_factory(engine)() as session:
                if session.get(Job, job.id).status == "running":  # type: ignore[union-attr]
                    break
            time.sleep(0.1)
        processes += [worker(args.slots) for _ in range(workers)]
        while True:
            with session_factory(engine)() as session:
                current = session.get(Job, job.id)
                assert current is not None
                if current.status in ("done", "failed", "interrupted"):
                    break
            time.sleep(0.2)
        wall = time.monotonic() - started
        worker_cpu = sum(cpu_seconds(process.pid) for process in processes)
        server_cpu = cpu_seconds(server_pid) - server_cpu
        own_cpu = time.process_time() - own_cpu
        busy, total = (after - before for after, before in zip(machine_busy(), machine, strict=True))
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
    if current.status != "done":
        raise SystemExit(f"the collection job ended {current.status}: {current.error}")
    with session_factory(engine)() as session:
        run = session.get(Run, current.result["run_id"])
        assert run is not None
        rows = session.query(RunShard).filter(RunShard.run_id == run.id).all()
        shards = len(rows)
        regional = sum(1 for row in rows if not row.shard.endswith("/global"))
        gap_kinds = session.execute(
            text("SELECT service, operation, error_code, count(*) FROM gaps WHERE run_id = :run GROUP BY 1, 2, 3"),
            {"run": run.id},
        ).all()
        spans = sorted((row.finished_at - row.started_at).total_seconds() for row in rows if row.finished_at)
    engine.dispose()
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()
    return {
        "wall": wall,
        "calls": float(run.stats.get("api_calls", 0)),
        "evidence": float(run.evidence_count),
        "gaps": float(run.gap_count),
        "shards": float(shards),
        "region_shards": float(regional - 1),  # without the plan
        "status": run.status,  # type: ignore[dict-item]
        "gap_kinds": ", ".join(f"{s}:{o} {e} x{n}" for s, o, e, n in sorted(gap_kinds, key=lambda g: -g[3])),  # type: ignore[dict-item]
        "worker_cpu": worker_cpu,
        "server_cpu": server_cpu,
        "proxy_cpu": own_cpu,
        "machine_busy": busy / total,
        "shard_median": spans[len(spans) // 2] if spans else 0.0,
        "shard_busy": sum(spans) / (wall * workers * args.slots),  # share of the shard slots' time spent in shards
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--regions", default="us-east-1,eu-west-1")
    parser.add_argument("--workers", default="1,4", help="worker counts to compare, the first is the baseline")
    parser.add_argument("--slots", type=int, default=2, help="shards at once per worker (--concurrency)")
    parser.add_argument("--threads", type=int, default=4, help="AUDITPACK_CONCURRENCY: threads per shard")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the proxy adds to every call")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        server, url = start_server(work / "moto_server.log")
        try:
            for name, value in FAKE_AWS_ENV.items():
                os.environ[name] = value
            seed(url, args.accounts)
            results = {}
            with throttling_proxy(url, share=0.0, delay=args.latency) as proxy:
                for count in counts:
                    before = proxy.forwarded
                    results[count] = one_run(args, proxy.url, count, work, server.pid)
                    results[count]["proxied"] = float(proxy.forwarded - before)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    regions = len(args.regions.split(","))
    print(
        f"{args.accounts} accounts x {regions} regions, {args.latency * 1000:.0f} ms per call; each worker "
        f"{args.slots} shards at once x {args.threads} threads; a planner worker (1 slot) holds the job"
    )
    base = results[counts[0]]
    for count, figures in results.items():
        print(
            f"  {count} worker(s): {figures['wall']:.1f} s wall, {figures['calls']:.0f} API calls "
            f"({figures['proxied']:.0f} through the proxy), {figures['calls'] / figures['wall']:.0f} calls/s, "
            f"{figures['shards']:.0f} shards, evidence {figures['evidence']:.0f}, gaps {figures['gaps']:.0f}, "
            f"run {figures['status']}, speed-up {base['wall'] / figures['wall']:.2f}x; a shard takes "
            f"{figures['shard_median']:.2f} s (median), the slots are busy {figures['shard_busy']:.0%} of the time; "
            f"CPU: workers {figures['worker_cpu']:.1f} s, moto_server {figures['server_cpu']:.1f} s, proxy and bench "
            f"{figures['proxy_cpu']:.1f} s; the machine's cores {figures['machine_busy']:.0%} busy"
        )
    print(f"  gaps (what moto lacks): {base['gap_kinds'] or 'none'}")
    best = results[counts[-1]]
    per_region = best["calls"] / max(1.0, best["region_shards"])
    calls = per_region * TARGET_ACCOUNTS * TARGET_REGIONS
    seconds = calls / (best["calls"] / best["wall"])
    print(
        f"  extrapolated to {TARGET_ACCOUNTS} accounts x {TARGET_REGIONS} regions at {counts[-1]} workers' "
        f"throughput: {calls:,.0f} calls ({per_region:.0f} per (account, region), global shards included), "
        f"{seconds / 3600:.1f} h"
    )
    print(f"  load: {Path('/proc/loadavg').read_text().strip()}")


if __name__ == "__main__":
    main()
