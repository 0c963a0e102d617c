"""API benchmark on PostgreSQL: paginated listing latency on 1,000,000 evidence or findings rows, and server
memory while 50 clients download a 50 MB packet at once. Prints figures; asserts nothing.

    .venv/bin/python bench/api.py [--db-url URL] [--rows 1000000] [--route /v1/evidence] [--repeats 5]
    .venv/bin/python bench/api.py --route /v1/findings [--runs 1]     # findings: --runs 1 puts every row in one run

The rows are bulk-loaded with COPY into a schema of their own per route (kept for re-runs with --keep; dropped
otherwise). The server runs as a separate uvicorn process so its RSS can be read from /proc. `--route` picks the
listing to measure; each route has its own query mix in QUERIES. Findings are listed per run (the latest by
default), so `--runs` decides how many rows one listing walks: 1 is the worst case (a million in one run).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.models import Packet, Role  # noqa: E402
from api.services import tokens  # noqa: E402
from core.canonical import LEGACY, canonical_json, sha256_hex  # noqa: E402
from evidence.chain import evidence_record_hash, run_digest  # noqa: E402
from evidence.db import make_engine, session_factory  # noqa: E402
from evidence.finding_ranges import record_ranges  # noqa: E402
from migrations.schema import upgrade_schema  # noqa: E402

DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ACCOUNTS = [f"{100000000000 + i * 7919:012d}" for i in range(20)]
REGIONS = [
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-2",
    "ca-central-1",
    "global",
]
SERVICES = {
    "s3": ["s3.bucket_encryption", "s3.public_access_block", "s3.versioning"],
    "iam": ["iam.credential_report", "iam.password_policy", "iam.user_mfa"],
    "ec2": ["ec2.instance", "ec2.ebs_encryption_default", "ec2.security_group"],
    "rds": ["rds.instance", "rds.snapshot"],
    "kms": ["kms.key_rotation"],
    "cloudtrail": ["cloudtrail.trail", "cloudtrail.status"],
    "config": ["config.recorder"],
    "lambda": ["lambda.function"],
    "backup": ["backup.plan", "backup.vault"],
    "ssm": ["ssm.managed_instance"],
    "guardduty": ["guardduty.detector"],
    "vpc": ["vpc.flow_logs"],
}
KINDS = [(service, kind) for service, kinds in SERVICES.items() for kind in kinds]
START = datetime(2026, 10, 1, tzinfo=UTC)

# Query mixes per listing route: each is a filter set walked page by page with the cursor.
QUERIES: dict[str, list[dict[str, str]]] = {
    "/v1/evidence": [
        {},
        {"account": ACCOUNTS[3]},
        {"account": ACCOUNTS[7], "service": "s3"},
        {"account": ACCOUNTS[11], "region": "eu-west-1", "service": "ec2"},
        {"kind": "iam.user_mfa"},
        {"service": "kms", "region": "us-east-1"},
        {"observed_from": "2026-10-04T00:00:00Z", "observed_to": "2026-10-05T00:00:00Z"},
        {"run_id": "RUN", "account": ACCOUNTS[5]},
    ],
    "/v1/findings": [
        {},
        {"status": "fail"},
        {"check": "s3.default_encryption"},
        {"check": "iam.user_mfa_enabled", "status": "fail"},
        {"account": ACCOUNTS[3]},
        {"account": ACCOUNTS[7], "status": "fail"},
        {"account": ACCOUNTS[11], "region": "eu-west-1"},
        {"account": ACCOUNTS[5], "check": "s3.default_encryption", "status": "fail"},
        {"account": ACCOUNTS[9], "check": "kms.key_rotation_enabled", "status": "error"},
        {"service": "ec2", "status": "fail"},
        {"status": "error", "region": "us-east-2"},
        {"observed_from": "OBSERVED_FROM", "observed_to": "OBSERVED_TO", "status": "fail"},
        {"run_id": "RUN", "check": "rds.storage_encrypted"},
    ],
}
# Findings per check in a run are not uniform: account-wide checks give one row per account, resource checks many.
CHECK_WEIGHTS = {"iam": 6, "s3": 10, "ec2": 12, "rds": 4, "lambda": 6, "logs": 8, "cloudtrail": 1, "kms": 3}
FINDING_STATUSES = (("pass", 70), ("fail", 22), ("not_applicable", 5), ("error", 3))


PLACEHOLDERS: dict[str, str] = {"RUN": "1"}  # set in main() once the number of runs is known

# -- loading ------------------------------------------------------------------------------------------------


def schema_url(base: str, schema: str) -> str:
    return (
        make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    )


def new_schema(base_url: str, schema: str) -> tuple[Engine, str]:
    """Create `schema`, migrate it, and return its engine and the psycopg DSN for COPY."""
    admin = create_engine(base_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = schema_url(base_url, schema)
    engine = make_engine(url)
    upgrade_schema(engine)
    return engine, make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def load(base_url: str, schema: str, rows: int, runs: int) -> None:
    engine, dsn = new_schema(base_url, schema)
    rng = random.Random(42)
    payloads = 50_000  # nightly captures repeat most payloads: rows far outnumber distinct blobs
    started = time.perf_counter()
    with psycopg.connect(dsn) as connection, connection.cursor() as cursor:
        with cursor.copy("COPY blobs (sha256, size, data) FROM STDIN") as copy:
            blob_hashes = []
            for index in range(payloads):
                data = canonical_json(  # rows written with COPY get the column default: version 1
                    {"index": index, "encrypted": index % 3 != 0, "tags": {"Owner": f"team-{index % 40}"}},
                    version=LEGACY,
                )
                digest = sha256_hex(data)
                blob_hashes.append(digest)
                copy.write_row((digest, len(data), zlib.compress(data, 6)))
        per_run = rows // runs
        evidence_id = 0
        for run_index in range(runs):
            run_id = run_index + 1
            run_start = START + timedelta(days=run_index)
            cursor.execute(
                "INSERT INTO runs (id, trigger, requested_by, scope, started_at, finished_at, status, evidence_count, "
                "gap_count, stats, worker) VALUES (%s, 'schedule', 'bench', '{}', %s, %s, 'running', 0, 0, '{}', '')",
                (run_id, run_start, run_start + timedelta(hours=1)),
            )
            record_hashes = []
            with cursor.copy(
                "COPY evidence (id, run_id, account_id, region, service, resource_type, resource_id, kind, "
                "observed_at, owner, sha256, record_sha256) FROM STDIN"
            ) as copy:
                for index in range(per_run):
                    evidence_id += 1
                    service, kind = KINDS[rng.randrange(len(KINDS))]
                    row = {
                        "run_id": run_id,
                        "account_id": ACCOUNTS[rng.randrange(len(ACCOUNTS))],
                        "region": REGIONS[rng.randrange(len(REGIONS))],
                        "service": service,
                        "resource_type": kind.split(".")[1],
                        "resource_id": f"arn:aws:{service}:::res-{index}",
                        "kind": kind,
                        "observed_at": run_start + timedelta(seconds=index * 3600 / per_run),
                        "owner": None,
                        "sha256": blob_hashes[rng.randrange(payloads)],
                    }
                    record = evidence_record_hash(**row, canonical_version=LEGACY)  # the column's default
                    record_hashes.append(record)
                    copy.write_row((evidence_id, *row.values(), record))
            header = {"id": run_id, "chain": run_index + 1}
            cursor.execute(
                "UPDATE runs SET status = 'complete', evidence_count = %s, chain_seq = %s, digest = %s, "
                "max_evidence_id = %s WHERE id = %s",
                (
                    per_run,
                    run_index + 1,
                    run_digest(header, record_hashes, [], canonical_version=LEGACY),
                    evidence_id,
                    run_id,
                ),
            )
        cursor.execute("SELECT setval(pg_get_serial_sequence('evidence', 'id'), %s)", (evidence_id,))
        cursor.execute("SELECT setval(pg_get_serial_sequence('runs', 'id'), %s)", (runs,))
        connection.commit()
        cursor.execute("ANALYZE")
    print(f"loaded {rows:,} evidence rows in {runs} runs ({payloads:,} blobs) in {time.perf_counter() - started:.0f} s")
    engine.dispose()


FINDING_COLUMNS = (
    "id",
    "run_id",
    "check_id",
    "status",
    "severity",
    "account_id",
    "region",
    "resource_id",
    "resource_type",
    "reason",
    "evidence",  # JSON text
    "observed_at",
    "owner",
)


def finding_runs(rows: int, runs: int, *, start: datetime = START) -> Iterator[tuple[dict[str, Any], FindingSetTally]]:
    """`rows` findings over `runs` sealed runs, deterministic: per run its `runs` values and its finding rows in
    FINDING_COLUMNS order (one row per check and resource, as the checks store them). Run N starts N - 1 days
    after `start`. Shared by the loaders of this script (PostgreSQL COPY), bench/load.py and bench/ui.py."""
    from evidence.checks.registry import check_metadata

    rng = random.Random(42)
    metas = list(check_metadata().values())
    weights = [CHECK_WEIGHTS.get(meta.service, 1) for meta in metas]
    statuses, status_weights = zip(*FINDING_STATUSES, strict=True)
    per_run = rows // runs
    for run_index in range(runs):
        run_id = run_index + 1
        run_start = start + timedelta(days=run_index)
        run = {
            "id": run_id,
            "started_at": run_start,
            "finished_at": run_start + timedelta(hours=1),
            "chain_seq": run_id,
            "digest": sha256_hex(str(run_id).encode()),
        }

        def rows_of(run_id: int = run_id, run_start: datetime = run_start) -> Iterator[tuple[Any, ...]]:
            checks = rng.choices(metas, weights, k=per_run)
            chosen = rng.choices(statuses, status_weights, k=per_run)
            first = (run_id - 1) * per_run
            for index, (meta, status) in enumerate(zip(checks, chosen, strict=True)):
                finding_id = first + index + 1
                account = ACCOUNTS[rng.randrange(len(ACCOUNTS))]
                region = "global" if meta.service_type is None else REGIONS[rng.randrange(len(REGIONS) - 1)]
                yield (
                    finding_id,
                    run_id,
                    meta.id,
                    status,
                    meta.severity.value,
                    account,
                    region,
                    f"arn:aws:{meta.service}:{region}:{account}:res-{index}",
                    meta.service_type or "account",
                    f"{meta.title}: {status} (bench row {index})",
                    f'["{sha256_hex(str(finding_id).encode())}"]',
                    run_start + timedelta(seconds=index * 3600 / per_run),
                    None,
                )

        yield run, FindingSetTally(run_id, rows_of(), evaluated_at=run["finished_at"])


class FindingSetTally:
    """A run's finding rows, hashed as a loader consumes them, and then the finding set `save_findings` would
    record for them: without one, the first read would take the run for unevaluated and evaluate it again."""

    def __init__(self, run_id: int, rows: Iterator[tuple[Any, ...]], *, evaluated_at: datetime) -> None:
        self.run_id, self._rows, self.evaluated_at = run_id, rows, evaluated_at
        self._hashes: list[str] = []

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        from evidence.checks.types import Finding, FindingStatus
        from evidence.findings_digest import finding_record_hash

        for row in self._rows:
            values = dict(zip(FINDING_COLUMNS, row, strict=True))
            finding = Finding(
                check_id=values["check_id"],
                status=FindingStatus(values["status"]),
                account_id=values["account_id"],
                region=values["region"],
                resource_id=values["resource_id"],
                resource_type=values["resource_type"],
                reason=values["reason"],
                evidence=tuple(json.loads(values["evidence"])),
                observed_at=values["observed_at"],
                owner=values["owner"],
            )
            self._hashes.append(finding_record_hash(self.run_id, finding, canonical_version=LEGACY))
            yield row

    def finding_set(self) -> dict[str, Any]:
        """The `finding_sets` row (thresholds as JSON data), once every row was consumed."""
        from evidence.checks.thresholds import Thresholds
        from evidence.findings_digest import checks_version, findings_digest, set_header, thresholds_record

        thresholds = thresholds_record(Thresholds())
        header = set_header(
            run_id=self.run_id, thresholds=thresholds, checks_version=checks_version(), count=len(self._hashes)
        )
        return {
            "run_id": self.run_id,
            "digest": findings_digest(header, self._hashes, canonical_version=LEGACY),
            "finding_count": len(self._hashes),
            "thresholds": thresholds,
            "checks_version": checks_version(),
            "evaluated_at": self.evaluated_at,
        }


def load_findings(base_url: str, schema: str, rows: int, runs: int, *, start: datetime = START) -> None:
    """`rows` findings over `runs` sealed runs (`finding_runs`), bulk-loaded with COPY."""
    engine, dsn = new_schema(base_url, schema)
    started = time.perf_counter()
    with psycopg.connect(dsn) as connection, connection.cursor() as cursor:
        for run, findings in finding_runs(rows, runs, start=start):
            cursor.execute(
                "INSERT INTO runs (id, trigger, requested_by, scope, started_at, finished_at, status, evidence_count, "
                "gap_count, stats, worker, chain_seq, digest) VALUES (%s, 'schedule', 'bench', '{}', %s, %s, "
                "'complete', 0, 0, '{}', '', %s, %s)",
                (run["id"], run["started_at"], run["finished_at"], run["chain_seq"], run["digest"]),
            )
            with cursor.copy(f"COPY findings ({', '.join(FINDING_COLUMNS)}) FROM STDIN") as copy:
                for row in findings:
                    copy.write_row(row)
            finding_set = findings.finding_set()
            cursor.execute(
                "INSERT INTO finding_sets (run_id, digest, finding_count, thresholds, checks_version, evaluated_at) "
                "VALUES (%(run_id)s, %(digest)s, %(finding_count)s, %(thresholds)s, %(checks_version)s, "
                "%(evaluated_at)s)",
                {**finding_set, "thresholds": json.dumps(finding_set["thresholds"])},
            )
        cursor.execute("SELECT setval(pg_get_serial_sequence('findings', 'id'), %s)", ((rows // runs) * runs,))
        cursor.execute("SELECT setval(pg_get_serial_sequence('runs', 'id'), %s)", (runs,))
        connection.commit()
    with engine.begin() as recording:  # what save_findings records beside the rows
        for run_id in range(1, runs + 1):
            record_ranges(recording, run_id)
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("ANALYZE")
    print(f"loaded {rows:,} findings rows in {runs} run(s) in {time.perf_counter() - started:.0f} s")
    engine.dispose()


def prepare_packet(url: str, data_dir: Path, size_mb: int) -> tuple[str, str]:
    """A ready packet whose PDF is `size_mb` MB on disk, and an officer token. Returns (packet id, token)."""
    packet_id = str(uuid.uuid4())
    folder = data_dir / "packets" / packet_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "packet.pdf"
    digest = hashlib.sha256()
    with path.open("wb") as handle:
        for _ in range(size_mb):
            chunk = os.urandom(1024 * 1024)
            digest.update(chunk)
            handle.write(chunk)
    engine = make_engine(url)
    now = datetime.now(UTC)
    with session_factory(engine)() as session:
        session.add(
            Packet(
                id=packet_id,
                framework="hipaa",
                scope={},
                requested_by="bench",
                request_sha256="0" * 64,
                status="ready",
                run_ids=[1],
                pdf_path=f"packets/{packet_id}/packet.pdf",
                pdf_sha256=digest.hexdigest(),
                pdf_size=size_mb * 1024 * 1024,
                created_at=now,
                finished_at=now,
            )
        )
        session.commit()
        issued = tokens.create_token(
            session, role=Role.OFFICER, created_by="bench", now=now, lifetime=timedelta(days=1)
        )
    engine.dispose()
    return packet_id, issued.secret


# -- server -------------------------------------------------------------------------------------------------


def serve(url: str, data_dir: Path, port: int) -> None:
    import uvicorn

    from api.app import create_app
    from api.context import ApiConfig
    from auditpack.api_sources import StoredFindings
    from evidence.store import EvidenceStore

    engine = make_engine(url)
    app = create_app(
        engine=engine,
        data_dir=data_dir,
        config=ApiConfig(auth_failure_limit=0),
        findings_source=StoredFindings(EvidenceStore(engine)),
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


# -- measurements -------------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure_listing(
    base: str, token: str, route: str, pages: int, limit: int, items: dict[str, int] | None = None
) -> dict[str, list[float]]:
    """Milliseconds per request, per filter set (each walked `pages` pages deep with its cursor); `items` gets
    how many rows each filter set returned (a fast empty answer would measure nothing)."""
    found: dict[str, list[float]] = {}
    items = items if items is not None else {}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        for filters in QUERIES[route]:
            params: dict[str, Any] = {k: PLACEHOLDERS.get(v, v) for k, v in filters.items()}
            params["limit"] = limit
            name = ",".join(f"{k}={v}" for k, v in filters.items()) or "(none)"
            latencies = found.setdefault(name, [])
            for _ in range(pages):
                started = time.perf_counter()
                response = client.get(route, params=params)
                latencies.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                items[name] = items.get(name, 0) + len(response.json()["items"])
                cursor = response.json()["next_cursor"]
                if cursor is None:
                    break
                params["cursor"] = cursor
    return found


def measure_downloads(base: str, token: str, packet_id: str, server_pid: int, clients: int) -> dict[str, float]:
    before = rss_mb(server_pid)
    peak = before
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, rss_mb(server_pid))
            time.sleep(0.01)

    def download(_index: int) -> str:
        digest = hashlib.sha256()
        with (
            httpx.Client(base_url=base, timeout=300) as client,
            client.stream(
                "GET", f"/v1/packets/{packet_id}/pdf", headers={"Authorization": f"Bearer {token}"}
            ) as response,
        ):
            response.raise_for_status()
            for chunk in response.iter_bytes(1024 * 1024):
                digest.update(chunk)
        return digest.hexdigest()

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        hashes = set(pool.map(download, range(clients)))
    elapsed = time.perf_counter() - started
    stop.set()
    sampler.join()
    if len(hashes) != 1:
        raise SystemExit(f"downloads differ: {len(hashes)} distinct hashes")
    time.sleep(0.5)
    return {"before": before, "peak": peak, "after": rss_mb(server_pid), "seconds": elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", default="run", choices=["run", "serve"])
    parser.add_argument("--db-url", default=os.environ.get("AUDITPACK_BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--schema", default=None, help="default: bench_api (evidence) or bench_api_findings")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--route", default="/v1/evidence", choices=sorted(QUERIES))
    parser.add_argument("--pages", type=int, default=10, help="pages walked per query")
    parser.add_argument("--limit", type=int, default=100, help="page size")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--packet-mb", type=int, default=50)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the loaded schema")
    parser.add_argument("--listing-only", action="store_true", help="skip the concurrent download measurement")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "bench" / "out" / "api-data")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    findings = args.route == "/v1/findings"
    args.schema = args.schema or ("bench_api_findings" if findings else "bench_api")
    url = schema_url(args.db_url, args.schema)
    # The observation window of the latest run's middle ten minutes (findings of run N are observed on day N).
    latest = START + timedelta(days=args.runs - 1)
    PLACEHOLDERS["OBSERVED_FROM"] = (latest + timedelta(minutes=25)).isoformat()
    PLACEHOLDERS["OBSERVED_TO"] = (latest + timedelta(minutes=35)).isoformat()
    if args.command == "serve":
        serve(url, args.data_dir, args.port)
        return
    print("load average at start (2 cores, shared machine): {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))

    admin = create_engine(args.db_url)
    with admin.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :s"), {"s": args.schema}
        ).first()
    if exists and not args.keep:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{args.schema}" CASCADE'))
        exists = None
    if not exists:
        (load_findings if findings else load)(args.db_url, args.schema, args.rows, args.runs)
    else:
        upgrade_schema(make_engine(url))
        print(f"reusing schema {args.schema}")
    args.data_dir.mkdir(parents=True, exist_ok=True)
    packet_id, token = prepare_packet(url, args.data_dir, args.packet_mb)

    from tests.api.live import free_port

    port = args.port or free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "serve",
            "--db-url",
            args.db_url,
            "--schema",
            args.schema,
            "--route",
            args.route,
            "--data-dir",
            str(args.data_dir),
            "--port",
            str(port),
        ],
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/readyz", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.2)
        measure_listing(base, token, args.route, 2, args.limit)  # warm the caches and the connection pool
        p50s, p95s = [], []
        per_filter: dict[str, list[float]] = {}
        items: dict[str, int] = {}
        for repeat in range(args.repeats):
            found = measure_listing(base, token, args.route, args.pages, args.limit, items)
            latencies = [ms for values in found.values() for ms in values]
            for name, values in found.items():
                per_filter.setdefault(name, []).extend(values)
            p50s.append(statistics.median(latencies))
            p95s.append(percentile(latencies, 0.95))
            print(f"  run {repeat + 1}: {len(latencies)} requests, p50 {p50s[-1]:.1f} ms, p95 {p95s[-1]:.1f} ms")
        for name, values in per_filter.items():
            print(
                f"    {name}: p50 {statistics.median(values):.1f} ms, p95 {percentile(values, 0.95):.1f} ms "
                f"({items.get(name, 0) // args.repeats} rows per walk)"
            )
        print(
            f"GET {args.route} ({args.rows:,} rows in {args.runs} run(s), {len(QUERIES[args.route])} filter sets x "
            f"{args.pages} pages of "
            f"{args.limit}): median of {args.repeats} runs p50 {statistics.median(p50s):.1f} ms, "
            f"p95 {statistics.median(p95s):.1f} ms (target <= 50 ms)"
        )
        # Twice at full concurrency: the second round shows whether memory keeps growing (it should not).
        for clients in () if args.listing_only else (1, 10, args.clients, args.clients):
            figures = measure_downloads(base, token, packet_id, server.pid, clients)
            rate = clients * args.packet_mb / figures["seconds"]
            print(
                f"{clients:>3} concurrent downloads of {args.packet_mb} MB: server RSS before "
                f"{figures['before']:.0f} MB, peak {figures['peak']:.0f} MB, after {figures['after']:.0f} MB; "
                f"{figures['seconds']:.1f} s ({rate:.0f} MB/s)"
            )
        print("load average at end: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(args.data_dir / "packets" / packet_id, ignore_errors=True)
        if not args.keep:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{args.schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
