"""Benchmark: a year of nightly captures of a 300-resource estate, evaluated capture by capture.

    .venv/bin/python bench/period.py [--runs 3] [--framework pci-dss] [--days 365] [--only status]

Builds (once, cached in bench/out/period-<days>.db) a store of one nightly run per day of 2025 for an estate of
~300 resources (1 account x 2 regions x 16 of each kind of bench/collect.py's seeding, collected with the real
collectors in in-process moto): the estate's evidence is recorded again for every night at 02:00 with the store's
clock set to that night, and each run is evaluated by the real checks. The year has a security group open to
the world on SSH for 19 nights (days 40-58), a bucket without default encryption for 30 (days 100-129), three
nights without a run (days 200-202), one failed run (day 250), an exception on the security group's check for
days 45-50 and a security policy (PCI DSS 12.1.1) valid from February to September.

Then, each in a fresh process (`auditpack` as a user runs it), median of --runs:
  single   `auditpack packet --as-of <last day>`: the packet of the year's last run
  year     `auditpack packet --from <first> --to <last>`: the year's packet, every capture evaluated
  daily    the same with --captures daily
  history  `auditpack status --from <first> --to <last> --format json` (process wall time, and the in-process
           time of the period history alone)
Targets: year <= 2 x single; history <= 3 s. Nothing is asserted: figures are printed for the docs, with the
load average before and after (the machine may be shared). `--only status` measures the history alone.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The project first, bench/ last: bench/api.py would otherwise shadow the `api` package (the schema imports it).
sys.path[:] = [str(ROOT), *(entry for entry in sys.path if Path(entry or ".").resolve() != ROOT / "bench")]
sys.path.append(str(ROOT / "bench"))

OUT = ROOT / "bench" / "out"
FIRST = date(2025, 1, 1)
REGIONS = ("us-east-1", "eu-west-1")
PER_KIND = 16
OPEN_SSH = range(40, 59)  # day numbers (1 = 1 January)
UNENCRYPTED = range(100, 130)
MISSED = (200, 201, 202)
FAILED = 250
EXCEPTED = range(45, 51)


def _at(day: int) -> datetime:
    return datetime.combine(FIRST + timedelta(days=day - 1), datetime.min.time(), tzinfo=UTC) + timedelta(hours=2)


def _collect_states(work: Path) -> tuple[Path, dict[str, int]]:
    """The estate collected three times: as it normally is, with SSH open to the world, with a bucket unencrypted."""
    import importlib

    import boto3
    from moto import mock_aws

    from evidence.aws.scope import CollectionScope
    from evidence.db import make_engine
    from evidence.orchestrator import collect
    from evidence.store import EvidenceStore
    from migrations.schema import upgrade_schema

    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
        }
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    path = work / "states.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_schema(engine)
    store = EvidenceStore(engine)
    states: dict[str, int] = {}
    estate = importlib.import_module("collect")  # bench/collect.py seeds the estate
    with mock_aws():
        base = boto3.Session(region_name="us-east-1")
        _accounts, resources = estate.seed("", 1, REGIONS, PER_KIND)
        scope = CollectionScope(session=base, regions=REGIONS, max_attempts=2)
        states["normal"] = collect(store, scope, trigger="cli", requested_by="bench").id
        ec2 = base.client("ec2", region_name="us-east-1", config=estate.CONFIG)
        group = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["sg-3"]}])["SecurityGroups"][0]
        ssh = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
        ec2.authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=ssh)
        states["open_ssh"] = collect(store, scope, trigger="cli", requested_by="bench").id
        ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=ssh)
        account = base.client("sts").get_caller_identity()["Account"]
        base.client("s3", region_name="us-east-1").delete_bucket_encryption(Bucket=f"b1-{account[-6:]}-us-east-1")
        states["unencrypted"] = collect(store, scope, trigger="cli", requested_by="bench").id
    engine.dispose()
    print(f"seeded {resources} resources; collected runs {states}", file=sys.stderr)
    return path, states


def ensure_store(days: int) -> Path:
    path = OUT / f"period-{days}.db"
    if path.exists():
        return path
    from evidence.checks.evaluate import evaluate_run
    from evidence.checks.thresholds import Thresholds
    from evidence.db import make_engine
    from evidence.findings import save_findings
    from evidence.models import RunStatus
    from evidence.store import EvidenceStore
    from migrations.schema import upgrade_schema

    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="auditpack-period-"))
    started = time.perf_counter()
    states_path, states = _collect_states(work)
    source = EvidenceStore(make_engine(f"sqlite:///{states_path}"))
    items = {name: list(source.iter_evidence(run_id)) for name, run_id in states.items()}
    gaps = {name: source.gaps(run_id) for name, run_id in states.items()}
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{partial}")
    upgrade_schema(engine)
    for day in range(1, days + 1):
        if day in MISSED:
            continue
        state = "open_ssh" if day in OPEN_SSH else "unencrypted" if day in UNENCRYPTED else "normal"
        moment = _at(day)
        store = EvidenceStore(engine, clock=lambda moment=moment: moment)  # type: ignore[misc]
        run = store.start_run(trigger="schedule", requested_by="scheduler", scope={"regions": list(REGIONS)})
        with store.recorder(run.id, batch_size=2000) as recorder:
            for item in items[state]:
                recorder.add(
                    account_id=item.account_id,
                    region=item.region,
                    service=item.service,
                    resource_type=item.resource_type,
                    resource_id=item.resource_id,
                    kind=item.kind,
                    payload=item.payload,
                    observed_at=moment,
                    owner=item.owner,
                )
            for gap in gaps[state]:
                recorder.add_gap(
                    account_id=gap.account_id,
                    region=gap.region,
                    service=gap.service,
                    operation=gap.operation,
                    error_code=gap.error_code,
                    message=gap.message,
                    kind=gap.kind,
                    resource_id=gap.resource_id,
                    observed_at=moment,
                )
        if day == FAILED:
            store.finish_run(run.id, status=RunStatus.FAILED, error="collection failed: throttled past retries")
            continue
        store.finish_run(run.id)
        save_findings(store, run.id, evaluate_run(store, run.id, thresholds=Thresholds()), thresholds=Thresholds())
        if day % 30 == 0:
            print(f"  recorded day {day} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    _customer(engine)
    engine.dispose()
    partial.rename(path)
    shutil.rmtree(work, ignore_errors=True)
    print(f"recorded {days} nights in {time.perf_counter() - started:.0f} s -> {path}", file=sys.stderr)
    return path


def _customer(engine: object) -> None:
    import io

    from auditpack.settings import Settings
    from auditpack.wiring import customer_policy
    from evidence.customer import service
    from evidence.customer.policy import Actor, Role

    policy = customer_policy(Settings())
    alice, bob = Actor("alice@example.com", Role.OFFICER), Actor("bob@example.com", Role.OFFICER)
    exception = service.request_exception(
        engine,  # type: ignore[arg-type]
        policy=policy,
        actor=alice,
        justification="The bastion's replacement is rolled out this week; SSH stays open to it until then.",
        compensating="Key-only authentication; the instance has no data.",
        expires_at=_at(EXCEPTED[-1] + 1) - timedelta(hours=2),
        check_id="ec2.sg_no_admin_ports_open",
        now=_at(EXCEPTED[0] - 1) + timedelta(hours=9),
    )
    service.approve_exception(engine, exception_id=exception.id, actor=bob, now=_at(EXCEPTED[0]) - timedelta(hours=2))  # type: ignore[arg-type]
    document = service.submit_document(
        engine,  # type: ignore[arg-type]
        policy=policy,
        actor=alice,
        stream=io.BytesIO(b"Information security policy 2025, approved by the board.\n"),
        title="Information security policy 2025",
        controls=["pci-dss:12.1.1"],
        owner="CISO",
        filename="policy.txt",
        valid_from=datetime(2025, 2, 1, tzinfo=UTC),
        valid_until=datetime(2025, 10, 1, tzinfo=UTC),
        now=datetime(2025, 1, 20, tzinfo=UTC),
    )
    service.approve(engine, item_id=document.id, actor=bob, now=datetime(2025, 1, 21, tzinfo=UTC))  # type: ignore[arg-type]


_HISTORY_TIMER = (
    "import sys, time\n"
    "from auditpack.cli import status as command\n"
    "from auditpack import wiring\n"
    "original = wiring.period_operation\n"
    "def timed(*args, **kwargs):\n"
    "    started = time.perf_counter()\n"
    "    result = original(*args, **kwargs)\n"
    "    sys.stderr.write(f'HISTORY_SECONDS {time.perf_counter() - started:.3f} '\n"
    "                     f'EVALUATIONS {result.history.evaluations}\\n')\n"
    "    return result\n"
    "wiring.period_operation = timed\n"
    "from auditpack.cli.app import main\n"
    "main(sys.argv[1:])\n"
)


CPU: dict[str, list[float]] = {}  # user + system seconds of each child, by figure: the machine may be shared


def _run(
    args: list[str], env: dict[str, str], *, program: str | None = None, figure: str | None = None
) -> tuple[float, str, str]:
    command = [sys.executable, "-c", program, *args] if program else [sys.executable, "-m", "auditpack", *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    if figure is not None:
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        CPU.setdefault(figure, []).append(cpu)
    return wall, done.stdout, done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--framework", default="pci-dss")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--only", choices=("all", "status"), default="all", help="status: the history figure alone")
    options = parser.parse_args()
    stored = ensure_store(options.days)
    last = FIRST + timedelta(days=options.days - 1)
    work = Path(tempfile.mkdtemp(prefix="auditpack-period-run-"))
    database = work / "store.db"
    shutil.copyfile(stored, database)
    env = {
        **{name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"},
        # Bytecode cached, as an installed auditpack has it (pip and the image compile it): from a source tree
        # with PYTHONDONTWRITEBYTECODE=1 every process would compile ~130 modules first, about 0.3 s of each.
        "PYTHONPYCACHEPREFIX": str(work / "pycache"),
        "PYTHONPATH": str(ROOT),
        "AUDITPACK_DATABASE_URL": f"sqlite:///{database}",
        "AUDITPACK_DATA_DIR": str(work / "data"),
        "AUDITPACK_ORG_NAME": "Bench Health",
    }
    period = ["--from", FIRST.isoformat(), "--to", last.isoformat()]
    framework = ["--framework", options.framework]
    packets = options.only == "all"
    load_before = os.getloadavg()[0]
    # Not part of any figure: the first use generates the local CA, and the first runs write the bytecode cache.
    if packets:
        _run(["packet", *framework, "--as-of", last.isoformat(), "--out", str(work / "warm.pdf")], env)
    _run(["status", *framework, *period, "--format", "json"], env)
    figures: dict[str, list[float]] = {"single": [], "year": [], "daily": [], "history": [], "history_inner": []}
    pages: dict[str, int] = {}
    evaluations = ""
    for attempt in range(options.runs):
        for name, extra in (
            ("single", ["--as-of", last.isoformat()]),
            ("year", period),
            ("daily", [*period, "--captures", "daily"]),
        )[: 3 if packets else 0]:
            out = work / f"{name}-{attempt}.pdf"
            wall, stdout, _ = _run(
                ["packet", *framework, *extra, "--out", str(out), "--format", "json"], env, figure=name
            )
            figures[name].append(wall)
            pages[name] = json.loads(stdout)["pages"]
        wall, stdout, stderr = _run(
            ["status", *framework, *period, "--format", "json"], env, program=_HISTORY_TIMER, figure="history"
        )
        figures["history"].append(wall)
        marker = next(line for line in stderr.splitlines() if line.startswith("HISTORY_SECONDS"))
        figures["history_inner"].append(float(marker.split()[1]))
        evaluations = marker.split()[3]
        captures = len(json.loads(stdout)["period"]["runs"])
        size = len(stdout.encode())
    median = {name: statistics.median(values) for name, values in figures.items() if values}
    cpu = {name: statistics.median(values) for name, values in CPU.items()}
    print(
        f"store: {options.days} nights, {captures} captures ({stored.stat().st_size / 2**20:.0f} MB); "
        f"{options.framework}; medians of {options.runs} (each a fresh process)"
    )
    print(
        f"load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} "
        "cores (CPU = user + system of the process)"
    )
    if packets:
        for name, label in (
            ("single", "single-run packet (--as-of)   "),
            ("year", "year packet (--from/--to, all)"),
            ("daily", "year packet (--captures daily)"),
        ):
            print(f"{label}: {median[name]:.1f} s wall, {cpu[name]:.1f} s CPU, {pages[name]} pages")
        print(
            f"year / single: {median['year'] / median['single']:.2f} x wall, {cpu['year'] / cpu['single']:.2f} x "
            "CPU (target <= 2)"
        )
    print(
        f"STATUS HISTORY, {options.days} DAYS (auditpack status --from --to --format json, a fresh process): median "
        f"{median['history']:.2f} s wall, {cpu['history']:.2f} s CPU, min {min(figures['history']):.2f} s wall "
        f"(target <= 3 s); within it the period history {median['history_inner']:.2f} s ({evaluations} "
        f"evaluations for {captures} captures), output {size / 2**20:.1f} MB"
    )
    for name, values in figures.items():
        if values:
            print(f"  {name}: " + ", ".join(f"{value:.2f}" for value in values))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
