"""Benchmark: build signed packets from synthetic stores of 1,000 / 100,000 / 1,000,000 evidence items.

    .venv/bin/python bench/packet.py [--sizes 1000 100000 1000000] [--runs 3] [--bundle] [--verify]

Prints wall time, peak RSS (the packet's process, and its largest forked child), pages and file sizes per size
(median over --runs; each run in a fresh process so its peak RSS is its own); with --verify, also the wall time
and peak RSS of verifying the packet (and bundle) offline, as `auditpack verify` does, each in a fresh process.
Synthetic stores are recorded once through the real EvidenceStore API and cached in bench/out/ (recording a
million items takes a few minutes); the time to record them is not part of the figures.
Targets on a 2-core machine: 100,000 items <= 30 s, 1,000,000 items <= 120 s, peak RSS <= 1 GB.

Each size also measures the floor (issue 18), in a fresh process: read the same payloads from the store,
decompress them, check each against its SHA-256 and write them as gzip-compressed NDJSON: the least any packet
of that evidence must do. The table prints the packet's wall time over the floor's (issue 18's target for a
packet with its bundle: at most 2.5x).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# bench/ (the script's own directory) after the repo root: bench/api.py would otherwise shadow the api package,
# which the migrations import while recording a store.
sys.path[:] = [str(ROOT), *(entry for entry in sys.path if Path(entry or ".").resolve() != ROOT / "bench")]
sys.path.append(str(ROOT / "bench"))

from peak import peak_rss_bytes  # noqa: E402

from evidence.checks.registry import check_metadata  # noqa: E402
from evidence.checks.types import Finding, FindingStatus  # noqa: E402
from evidence.db import make_engine  # noqa: E402
from evidence.store import EvidenceStore  # noqa: E402
from frameworks.results import (  # noqa: E402
    AutomatedResult,
    Automation,
    AwsAttestation,
    CheckVerdict,
    ControlResult,
    EvidenceState,
    FrameworkStatus,
    OverallStatus,
    Responsibility,
    ResponsibilityMatrix,
    RunRef,
)
from migrations.schema import upgrade_schema  # noqa: E402

OUT = ROOT / "bench" / "out"
ACCOUNTS = [f"{100000000000 + i * 7919:012d}" for i in range(20)]
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"]
SERVICES = ["s3", "ec2", "rds", "lambda", "iam", "kms", "cloudtrail"]
OBSERVED = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
STORE_VERSION = 2  # 2: each item observed at its own time, as a collection records them (1: all at OBSERVED)


def observed(index: int) -> datetime:
    """When item `index` was observed: a millisecond apart, the last at OBSERVED (a million items span 17 minutes).
    Each its own time, as collections record them: a shared one flattered every per-timestamp cache."""
    return OBSERVED - timedelta(milliseconds=index)


FAMILIES = [(str(i), f"Requirement family {i}") for i in range(1, 13)]
CONTROLS = 300


def _place(index: int) -> tuple[str, str, str, str, str | None]:
    """(service, account, region, resource id, owner) of item `index`: what its evidence and its finding name."""
    service = SERVICES[index % len(SERVICES)]
    account = ACCOUNTS[index % len(ACCOUNTS)]
    region = "global" if service == "iam" else REGIONS[(index // 7) % len(REGIONS)]
    resource_id = f"arn:aws:{service}:{region}:{account}:resource/{service}-{index:08d}"
    return service, account, region, resource_id, None if index % 50 == 0 else f"team-{index % 13}"


def _item(index: int) -> dict[str, object]:
    service, account, region, resource_id, owner = _place(index)
    return {
        "account_id": account,
        "region": region,
        "service": service,
        "resource_type": "resource",
        "resource_id": resource_id,
        "kind": f"{service}.configuration",
        "payload": {
            "Arn": resource_id,
            "Encryption": {"Enabled": index % 10 != 0, "KeyId": f"arn:aws:kms:{region}:{account}:key/{index:032x}"},
            "Tags": [{"Key": "Owner", "Value": f"team-{index % 13}"}, {"Key": "CostCentre", "Value": str(index % 97)}],
            "Logging": {"Enabled": index % 3 != 0, "Target": f"logs-{account}"},
            "CreatedAt": (OBSERVED - timedelta(days=index % 900)).isoformat(),
        },
        "owner": owner,
    }


def ensure_store(size: int) -> Path:
    path = OUT / f"store-v{STORE_VERSION}-{size}.db"
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{partial}")
    upgrade_schema(engine)
    store = EvidenceStore(engine)
    started = time.perf_counter()
    run = store.start_run(trigger="cli", requested_by="bench", scope={"accounts": ACCOUNTS})
    with store.recorder(run.id, batch_size=2000) as recorder:
        for index in range(size):
            item = _item(index)
            recorder.add(observed_at=observed(index), **item)  # type: ignore[arg-type]
        for index in range(25):
            recorder.add_gap(
                account_id=ACCOUNTS[index % 5],
                region="ap-southeast-2",
                service="s3",
                operation="GetBucketEncryption",
                error_code="AccessDenied",
                message="not authorized",
                kind="s3.configuration",
            )
    store.finish_run(run.id)
    engine.dispose()
    partial.rename(path)
    print(f"recorded {size:,} items in {time.perf_counter() - started:.0f} s -> {path}", file=sys.stderr)
    return path


def failing_hashes(store: EvidenceStore) -> dict[int, str]:
    """The payload hash of every failing item (every tenth), read before the clock starts: a failing finding names
    its real evidence, so the OSCAL risks look it up as a real packet's do."""
    from sqlalchemy import func, select

    from evidence.models import Evidence

    run = store.latest_run()
    assert run is not None
    with store.engine.connect() as connection:
        first = connection.execute(select(func.min(Evidence.id)).where(Evidence.run_id == run.id)).scalar_one()
        query = select(Evidence.id, Evidence.sha256).where(Evidence.run_id == run.id, (Evidence.id - first) % 10 == 0)
        return {evidence_id - first: sha256 for evidence_id, sha256 in connection.execute(query)}


def findings_for(size: int, real: dict[int, str] | None = None) -> Iterator[Finding]:
    """One finding per item, every tenth failing; with `real`, the failing ones name their item's payload hash.
    Built from the few fields a finding names (not the item's payload), so the generator costs the packet's
    clock little: a real packet streams findings from the store."""
    checks = list(check_metadata())
    real = real or {}
    for index in range(size):
        _service, account, region, resource_id, owner = _place(index)
        failing = index % 10 == 0
        yield Finding(
            check_id=checks[index % len(checks)],
            status=FindingStatus.FAIL if failing else FindingStatus.PASS,
            account_id=account,
            region=region,
            resource_id=resource_id,
            reason="encryption is not enabled" if failing else "encryption is enabled",
            evidence=(real.get(index) or f"{index:064x}",),
            observed_at=observed(index),
            owner=owner,
            resource_type="resource",
        )


def synthetic_status(store: EvidenceStore, size: int, real: dict[int, str] | None = None) -> FrameworkStatus:
    """A PCI-DSS-sized status (300 controls, 12 families, the 28 real checks) whose failing findings are 10%."""
    run = store.latest_run()
    assert run is not None
    meta = check_metadata()
    checks = list(meta)
    failing: dict[str, list[Finding]] = {c: [] for c in checks}
    for finding in findings_for(size, real):
        if finding.status is FindingStatus.FAIL:
            failing[finding.check_id].append(finding)
    controls = []
    rng = random.Random(7)
    for index in range(CONTROLS):
        family = FAMILIES[index % len(FAMILIES)]
        automation = [Automation.AUTOMATED, Automation.PARTIAL, Automation.MANUAL, Automation.INHERITED][index % 4]
        chosen = rng.sample(checks, 2) if automation in (Automation.AUTOMATED, Automation.PARTIAL) else []
        verdicts = tuple(
            CheckVerdict(
                check_id=c,
                title=meta[c].title,
                severity=meta[c].severity,
                relevance="Synthetic relevance for the benchmark.",
                passed=size // len(checks) - len(failing[c]),
                failed=len(failing[c]),
                errors=0,
                not_applicable=0,
                stale=0,
                failing=tuple(failing[c]),
                errored=(),
                remediation=meta[c].remediation,
            )
            for c in chosen
        )
        inherited = automation is Automation.INHERITED
        controls.append(
            ControlResult(
                control_id=f"{family[0]}.{index // len(FAMILIES) + 1}.{index % 3 + 1}",
                title=f"Synthetic control {index}",
                description="A synthetic control description of typical length for the benchmark packet body.",
                family_id=family[0],
                family_title=family[1],
                automation=automation,
                responsibility={s: Responsibility.AWS if inherited else Responsibility.SHARED for s in ("ec2", "s3")},
                overall_responsibility=Responsibility.AWS if inherited else Responsibility.CUSTOMER,
                status=OverallStatus.INHERITED
                if inherited
                else (OverallStatus.NOT_MET if verdicts else OverallStatus.EVIDENCE_NEEDED),
                automated=AutomatedResult.FAIL if verdicts else AutomatedResult.NONE,
                evidence=EvidenceState.NEEDED if not verdicts and not inherited else EvidenceState.NOT_NEEDED,
                status_reason="Synthetic status reason.",
                checks=verdicts,
                passed=sum(v.passed for v in verdicts),
                failed=sum(v.failed for v in verdicts),
                guidance=None if verdicts or inherited else "Upload the policy document.",
                aws_evidence=(AwsAttestation("AWS SOC 2 Type II report", "physical security"),) if inherited else (),
            )
        )
    return FrameworkStatus(
        framework_id="pci-dss",
        name="PCI DSS",
        version="4.0.1",
        as_of=OBSERVED,
        runs=(RunRef(run.id, run.status, run.started_at, run.finished_at, run.digest),),
        services_in_use=frozenset({"ec2", "s3", "rds", "lambda"}),
        controls=tuple(controls),
        matrix=ResponsibilityMatrix(
            services=("ec2", "lambda", "rds", "s3"),
            families=tuple(FAMILIES),
            cells={(f, s): Responsibility.SHARED for f, _ in FAMILIES for s in ("ec2", "lambda", "rds", "s3")},
        ),
        gap_count=25,
        stale_count=0,
        freshness_hours=48,
    )


def child(size: int, db: Path, bundle: bool) -> None:
    from reports.packet import build_packet
    from reports.signing import load_signer

    engine = make_engine(f"sqlite:///{db}")
    store = EvidenceStore(engine)
    real = failing_hashes(store)
    status = synthetic_status(store, size, real)
    signer = load_signer(data_dir=OUT / "data")
    run = store.latest_run()
    assert run is not None
    gaps = store.gaps(run.id)
    OUT.joinpath("packets").mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result = build_packet(
        store=store,
        status=status,
        findings=findings_for(size, real),
        gaps=gaps,
        signer=signer,
        out_pdf=OUT / "packets" / f"packet-{size}.pdf",
        out_bundle=OUT / "packets" / f"bundle-{size}.zip" if bundle else None,
        packet_id=f"BENCH-{size}",
        org_name="Benchmark Ltd",
        generated_by="bench/packet.py",
    )
    wall = time.perf_counter() - started
    rss = peak_rss_bytes()
    # The packet forks children (OSCAL documents, body): the largest one's peak, which Linux starts at this
    # process's RSS when it forks, so shared pages count twice: an upper bound.
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(
        json.dumps(
            {
                "wall": wall,
                "rss": rss,
                "rss_children": children,
                "pages": result.pages,
                "pdf": result.pdf_size,
                "bundle": result.bundle_size,
            }
        )
    )


def floor_child(size: int, db: Path) -> None:
    """Read, decompress, hash and write every payload of the store's run as gzip NDJSON (the floor)."""
    import gzip
    import hashlib

    from sqlalchemy import select

    from evidence.models import Blob, Evidence
    from evidence.store import decode_blob

    store = EvidenceStore(make_engine(f"sqlite:///{db}"))
    run = store.latest_run()
    assert run is not None, f"{db} holds no run"
    started = time.perf_counter()
    cpu = time.process_time()
    query = (
        select(Evidence.sha256, Blob.data)
        .join(Blob, Blob.sha256 == Evidence.sha256)
        .where(Evidence.run_id == run.id)
        .order_by(Evidence.id)
    )
    count = 0
    target = OUT / "packets" / f"floor-{size}.ndjson.gz"
    target.parent.mkdir(parents=True, exist_ok=True)
    with store.engine.connect() as connection, gzip.open(target, "wb", compresslevel=6) as out:
        for sha256, data in connection.execution_options(yield_per=2000).execute(query):
            payload = decode_blob(data)
            if hashlib.sha256(payload).hexdigest() != sha256:
                raise SystemExit(f"payload {sha256} does not hash to its name")
            out.write(payload)
            out.write(b"\n")
            count += 1
    print(
        json.dumps(
            {
                "wall": time.perf_counter() - started,
                "cpu": time.process_time() - cpu,
                "rss": peak_rss_bytes(),
                "items": count,
            }
        )
    )


def measure_floor(size: int, db: Path) -> dict[str, float]:
    command = [sys.executable, __file__, "--floor-child", "--size", str(size), "--db", str(db)]
    return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout.splitlines()[-1])  # type: ignore[no-any-return]


def verify_child(path: Path) -> None:
    from reports.verify import verify_file

    started = time.perf_counter()
    result = verify_file(path, trust=[OUT / "data" / "signing" / "local-ca.pem"])
    wall = time.perf_counter() - started
    rss = peak_rss_bytes()
    print(json.dumps({"wall": wall, "rss": rss, "ok": result.ok, "evidence": result.evidence_checked}))


def measure_verify(path: Path) -> str:
    command = [sys.executable, __file__, "--verify-child", str(path)]
    figures = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout.splitlines()[-1])
    verdict = "verified" if figures["ok"] else "FAILED"
    return (
        f"{path.name}: {verdict} ({figures['evidence']:,} payloads) in {figures['wall']:.1f} s, "
        f"peak RSS {figures['rss'] / 2**20:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=3, help="runs per size (1,000,000 items: at most 1 by default)")
    parser.add_argument("--bundle", action="store_true", help="also write the bundle zip")
    parser.add_argument("--verify", action="store_true", help="also time verifying what was built, offline")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--verify-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--floor-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.size, args.db, args.bundle)
        return
    if args.verify_child:
        verify_child(args.verify_child)
        return
    if args.floor_child:
        floor_child(args.size, args.db)
        return
    print(
        f"{'items':>10} {'runs':>4} {'wall s':>8} {'peak RSS MB':>11} {'child MB':>8} {'pages':>5} {'PDF MB':>8} "
        f"{'bundle MB':>9} "
        f"{'floor s':>8} {'x floor':>7}"
    )
    for size in args.sizes:
        db = ensure_store(size)
        runs = 1 if size >= 1_000_000 and args.runs > 1 else args.runs
        results = []
        for _ in range(runs):
            command = [sys.executable, __file__, "--child", "--size", str(size), "--db", str(db)]
            if args.bundle:
                command.append("--bundle")
            output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            results.append(json.loads(output.strip().splitlines()[-1]))
        wall = statistics.median(r["wall"] for r in results)
        rss = statistics.median(r["rss"] for r in results) / 2**20
        child_rss = statistics.median(r["rss_children"] for r in results) / 2**20
        pdf = statistics.median(r["pdf"] for r in results) / 2**20
        bundle = results[0]["bundle"] / 2**20 if results[0]["bundle"] else float("nan")
        floor = statistics.median(measure_floor(size, db)["wall"] for _ in range(runs))
        print(
            f"{size:>10,} {runs:>4} {wall:>8.1f} {rss:>11.0f} {child_rss:>8.0f} {results[0]['pages']:>5} {pdf:>8.1f} "
            f"{bundle:>9.1f} "
            f"{floor:>8.1f} {wall / floor:>7.2f}"
        )
        if args.verify:
            print("           verify " + measure_verify(OUT / "packets" / f"packet-{size}.pdf"))
            if args.bundle:
                print("           verify " + measure_verify(OUT / "packets" / f"bundle-{size}.zip"))


if __name__ == "__main__":
    main()
