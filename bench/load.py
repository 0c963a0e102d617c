"""Load benchmark: N concurrent clients for D seconds over a mix of the API's routes, on SQLite and PostgreSQL,
against `auditpack serve` itself (a subprocess on 127.0.0.1) with a million findings stored. Prints a table;
asserts nothing.

    .venv/bin/python bench/load.py [--clients 10 50 200] [--duration 60] [--backend sqlite postgresql]
                                   [--findings 1000000] [--runs 10] [--db-url URL] [--keep]

Route groups (weights of the mix): list (`/v1/evidence`, `/v1/findings`, `/v1/runs`; 50), evidence payload
(`/v1/evidence/{sha}`, logged before it is served; 25), download (a packet's PDF and bundle, streamed; 15) and
status (`/v1/frameworks/{id}/status`, evaluated from the latest run's findings; 10). Each client sends its next
request when the previous one is answered (a closed loop), so N is the number of requests in flight.

Reported per backend and N: requests/s; p50/p95/p99 per route group; status codes, with 503 (shedding: the
service said "retry after") apart from other 5xx (failures); the server's RSS at start, peak and end. Targets:
no 5xx other than 503 at any N; p95 <= 250 ms at 50 clients for list and status; RSS flat. The findings are
seeded with bench/api.py's generator (`--runs` sealed runs; the latest holds findings/runs of them); evidence
rows and blobs, an officer token and a ready packet are added to the latest run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, insert, select, text, update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.models import Packet  # noqa: E402
from bench.api import (  # noqa: E402
    ACCOUNTS,
    DEFAULT_DB,
    FINDING_COLUMNS,
    KINDS,
    REGIONS,
    START,
    finding_runs,
    load_findings,
    prepare_packet,
    rss_mb,
    schema_url,
)
from core.canonical import CURRENT_VERSION, canonical_json, sha256_hex  # noqa: E402
from evidence.chain import evidence_record_hash  # noqa: E402
from evidence.db import make_engine, session_factory  # noqa: E402
from evidence.finding_ranges import record_ranges  # noqa: E402
from evidence.findings_model import FindingRow, FindingSet  # noqa: E402
from evidence.models import Blob, Evidence, Run  # noqa: E402
from migrations.schema import upgrade_schema  # noqa: E402

SCHEMA = "bench_load"
GROUPS = {"list": 50, "evidence": 25, "download": 15, "status": 10}
EVIDENCE_ROWS = 20_000
BLOBS = 2_000
PACKET_MB = 2
BATCH = 5_000


# -- seeding ------------------------------------------------------------------------------------------------


def seed_sqlite(path: Path, findings: int, runs: int, *, start: datetime = START) -> str:
    """A migrated SQLite file with `findings` findings over `runs` runs (bench/api.py's rows, Core inserts)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade_schema(engine)
    started = time.perf_counter()
    with engine.begin() as connection:
        for run, rows in finding_runs(findings, runs, start=start):
            connection.execute(
                insert(Run),
                [{**run, "trigger": "schedule", "requested_by": "bench", "status": "complete", "worker": ""}],
            )
            batch: list[dict[str, Any]] = []
            for row in rows:
                values = dict(zip(FINDING_COLUMNS, row, strict=True))
                values["evidence"] = json.loads(values["evidence"])
                batch.append(values)
                if len(batch) >= BATCH:
                    connection.execute(insert(FindingRow), batch)
                    batch = []
            if batch:
                connection.execute(insert(FindingRow), batch)
            connection.execute(insert(FindingSet), [rows.finding_set()])
            record_ranges(connection, run["id"])  # as save_findings does
    print(f"  loaded {findings:,} findings in {runs} run(s) into SQLite in {time.perf_counter() - started:.0f} s")
    engine.dispose()
    return url


def seed_postgresql(base_url: str, findings: int, runs: int, *, keep: bool) -> str:
    admin = create_engine(base_url)
    with admin.begin() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :s"), {"s": SCHEMA}
        ).first()
        if exists and not keep:
            connection.execute(text(f'DROP SCHEMA "{SCHEMA}" CASCADE'))
    admin.dispose()
    url = schema_url(base_url, SCHEMA)
    if exists and keep:
        print(f"  reusing schema {SCHEMA}")
    else:
        load_findings(base_url, SCHEMA, findings, runs)
    return url


def seed_evidence(engine: Engine, run_id: int) -> list[str]:
    """EVIDENCE_ROWS evidence rows over BLOBS payloads in run `run_id`; returns the payload hashes."""
    rng = random.Random(7)
    blobs, hashes = [], []
    for index in range(BLOBS):
        payload = {"index": index, "encrypted": index % 3 != 0, "tags": {"Owner": f"team-{index % 40}"}}
        data = canonical_json(payload, version=CURRENT_VERSION)
        hashes.append(sha256_hex(data))
        blobs.append({"sha256": hashes[-1], "size": len(data), "data": zlib.compress(data, 6)})
    start = datetime.now(UTC) - timedelta(hours=2)
    rows = []
    for index in range(EVIDENCE_ROWS):
        service, kind = KINDS[rng.randrange(len(KINDS))]
        row = {
            "run_id": run_id,
            "account_id": ACCOUNTS[rng.randrange(len(ACCOUNTS))],
            "region": REGIONS[rng.randrange(len(REGIONS))],
            "service": service,
            "resource_type": kind.split(".")[1],
            "resource_id": f"arn:aws:{service}:::load-{index}",
            "kind": kind,
            "observed_at": start + timedelta(seconds=index * 3600 / EVIDENCE_ROWS),
            "owner": None,
            "sha256": hashes[rng.randrange(BLOBS)],
            "canonical_version": CURRENT_VERSION,
        }
        rows.append({**row, "record_sha256": evidence_record_hash(**row)})
    with engine.begin() as connection:
        connection.execute(insert(Blob), blobs)
        for offset in range(0, len(rows), BATCH):
            connection.execute(insert(Evidence), rows[offset : offset + BATCH])
    return hashes


def add_bundle(engine: Engine, data_dir: Path, packet_id: str) -> None:
    """bench/api.py's packet has a PDF only: give it a bundle too (random bytes; downloads check hash and size)."""
    data = os.urandom(PACKET_MB * 1024 * 1024 // 2)
    relative = f"packets/{packet_id}/bundle.zip"
    (data_dir / relative).write_bytes(data)
    with session_factory(engine).begin() as session:
        session.execute(
            update(Packet)
            .where(Packet.id == packet_id)
            .values(bundle_path=relative, bundle_sha256=sha256_hex(data), bundle_size=len(data))
        )


@dataclass(frozen=True)
class Target:
    backend: str
    url: str
    token: str
    packet_id: str
    hashes: list[str]
    latest_run: int


def prepare(backend: str, args: argparse.Namespace, data_dir: Path) -> Target:
    started = time.perf_counter()
    if backend == "sqlite" and args.keep and (args.out / "load.db").is_file():
        url = f"sqlite:///{args.out / 'load.db'}"
        print("  reusing", args.out / "load.db")
    elif backend == "sqlite":
        url = seed_sqlite(args.out / "load.db", args.findings, args.runs)
    else:
        url = seed_postgresql(args.db_url, args.findings, args.runs, keep=args.keep)
    engine = make_engine(url)
    with engine.connect() as connection:  # a kept schema has them from an earlier run
        hashes = list(connection.scalars(select(Evidence.sha256).where(Evidence.run_id == args.runs).distinct()))
    hashes = hashes or seed_evidence(engine, args.runs)
    packet_id, token = prepare_packet(url, data_dir, PACKET_MB)
    add_bundle(engine, data_dir, packet_id)
    engine.dispose()
    print(f"  prepared {backend} in {time.perf_counter() - started:.0f} s")
    return Target(backend, url, token, packet_id, hashes, args.runs)


# -- server -------------------------------------------------------------------------------------------------


def start_server(
    url: str, data_dir: Path, port: int, log: Path, *, options: tuple[str, ...] = ()
) -> subprocess.Popen[bytes]:
    """`auditpack serve` on 127.0.0.1:`port` over `url` (with extra command-line `options`), once it is ready."""
    env = {
        **os.environ,
        "AUDITPACK_DATABASE_URL": url,
        "AUDITPACK_DATA_DIR": str(data_dir),
        "AUDITPACK_SCHEDULE": "",  # no nightly capture during a benchmark
        "AUDITPACK_API_AUTH_FAILURE_LIMIT": "0",
        "PYTHONPATH": str(ROOT),
    }
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "auditpack", "serve", "--host", "127.0.0.1", "--port", str(port), *options],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 120
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).raise_for_status()
            return server
        except httpx.HTTPError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise SystemExit(f"the server did not start; see {log}") from None
            time.sleep(0.3)


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


# -- load ---------------------------------------------------------------------------------------------------


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=dict)  # per group, 2xx/3xx/4xx answers
    shed_ms: list[float] = field(default_factory=list)  # how long a 503 took to come back
    codes: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # transport errors: no HTTP answer at all
    rss: list[float] = field(default_factory=list)
    seconds: float = 0.0


def request_for(group: str, target: Target, rng: random.Random) -> str:
    if group == "list":
        return rng.choice(
            [
                "/v1/evidence?limit=100",
                f"/v1/evidence?limit=100&account={rng.choice(ACCOUNTS)}",
                "/v1/findings?limit=100",
                "/v1/findings?limit=100&status=fail",
                f"/v1/findings?limit=100&account={rng.choice(ACCOUNTS)}",
                "/v1/runs",
            ]
        )
    if group == "status":
        return f"/v1/frameworks/{rng.choice(['hipaa', 'pci-dss', 'soc2'])}/status"
    if group == "evidence":
        return f"/v1/evidence/{rng.choice(target.hashes)}"
    return f"/v1/packets/{target.packet_id}/{rng.choice(['pdf', 'bundle'])}"


async def client_loop(
    index: int, http: httpx.AsyncClient, target: Target, deadline: float, results: Results, mix: dict[str, int]
) -> None:
    rng = random.Random(index)
    groups, weights = list(mix), list(mix.values())
    while time.monotonic() < deadline:  # bounded: stops at the deadline
        group = rng.choices(groups, weights)[0]
        path = request_for(group, target, rng)
        started = time.perf_counter()
        try:
            async with http.stream("GET", path) as response:
                async for _ in response.aiter_bytes(256 * 1024):
                    pass
        except httpx.HTTPError as exc:
            results.errors[type(exc).__name__] += 1
            await asyncio.sleep(0.1)
            continue
        elapsed = (time.perf_counter() - started) * 1000
        results.codes[response.status_code] += 1
        if response.status_code == 503:  # shed: honour Retry-After as a real client would, up to 1 s
            results.shed_ms.append(elapsed)
            await asyncio.sleep(min(1.0, float(response.headers.get("retry-after", "1"))))
        else:
            results.latencies.setdefault(group, []).append(elapsed)


async def drive(
    base: str, target: Target, clients: int, duration: float, results: Results, mix: dict[str, int]
) -> None:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {target.token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=120) as http:
        deadline = time.monotonic() + duration
        await asyncio.gather(*(client_loop(i, http, target, deadline, results, mix) for i in range(clients)))


def measure(base: str, target: Target, server_pid: int, clients: int, duration: float, mix: dict[str, int]) -> Results:
    results = Results()
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            results.rss.append(rss_mb(server_pid))
            stop.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    asyncio.run(drive(base, target, clients, duration, results, mix))
    results.seconds = time.perf_counter() - started
    stop.set()
    sampler.join()
    results.rss.append(rss_mb(server_pid))
    return results


# -- report -------------------------------------------------------------------------------------------------


def quantile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else float("nan")


def report(backend: str, clients: int, results: Results) -> list[str]:
    total = sum(results.codes.values())
    shed = results.codes.get(503, 0)
    failed = sum(count for code, count in results.codes.items() if code >= 500 and code != 503)
    other = {code: count for code, count in sorted(results.codes.items()) if code not in (200, 503)}
    lines = [
        f"{backend} x {clients} clients: {total:,} responses in {results.seconds:.0f} s = {total / results.seconds:.0f}"
        f" req/s; 200: {results.codes.get(200, 0):,}, 503 shed: {shed:,}, other 5xx: {failed:,}"
        + (f", other codes: {other}" if other else "")
        + (f", transport errors: {dict(results.errors)}" if results.errors else "")
        + f"; server RSS start {results.rss[0]:.0f} MB, peak {max(results.rss):.0f} MB, end {results.rss[-1]:.0f} MB"
    ]
    for group, values in [*sorted(results.latencies.items()), ("(503 shed)", results.shed_ms)]:
        if values:
            lines.append(
                f"    {group:<10} {len(values):>7,} req   p50 {quantile(values, 0.5):>8.1f} ms   "
                f"p95 {quantile(values, 0.95):>8.1f} ms   p99 {quantile(values, 0.99):>8.1f} ms"
            )
    return lines


def parse_mix(text: str) -> dict[str, int]:
    mix = {}
    for part in text.split(","):
        group, _, weight = part.partition("=")
        if group not in GROUPS or not weight.isdigit():
            raise argparse.ArgumentTypeError(f"{part!r}: expected GROUP=WEIGHT with GROUP one of {', '.join(GROUPS)}")
        mix[group] = int(weight)
    return {group: weight for group, weight in mix.items() if weight > 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per client count")
    parser.add_argument("--backend", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"])
    parser.add_argument("--findings", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=10, help="sealed runs the findings are spread over")
    parser.add_argument("--db-url", default=os.environ.get("AUDITPACK_BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the loaded database")
    parser.add_argument(
        "--mix",
        type=parse_mix,
        default=dict(GROUPS),
        help="route-group weights, default " + ",".join(f"{g}={w}" for g, w in GROUPS.items()),
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "load")
    args = parser.parse_args()
    if any(n < 1 or n > 1000 for n in args.clients) or not 1 <= args.duration <= 3600:
        parser.error("--clients must be 1..1000 and --duration 1..3600 seconds")
    from tests.api.live import free_port

    print("load average at start (2 cores, shared machine): {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    table: list[str] = []
    for backend in args.backend:
        data_dir = args.out / f"data-{backend}"
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir(parents=True)
        print(f"{backend}: seeding {args.findings:,} findings")
        target = prepare(backend, args, data_dir)
        port = free_port()
        server = start_server(target.url, data_dir, port, args.out / f"server-{backend}.log")
        try:
            base = f"http://127.0.0.1:{port}"
            for clients in args.clients:
                results = measure(base, target, server.pid, clients, args.duration, args.mix)
                lines = report(backend, clients, results)
                print("\n".join(lines), flush=True)
                table.extend(lines)
        finally:
            stop_server(server)
            if backend == "postgresql" and not args.keep:
                admin = create_engine(args.db_url)
                with admin.begin() as connection:
                    connection.execute(text(f'DROP SCHEMA "{SCHEMA}" CASCADE'))
                admin.dispose()
            shutil.rmtree(data_dir, ignore_errors=True)
    print(f"\nmix {args.mix}; latencies of answered requests per group, shed (503) ones apart")
    print("summary (targets: no 5xx other than 503; p95 <= 250 ms at 50 clients for list and status; flat RSS)")
    print("\n".join(table))
    print("load average at end: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
