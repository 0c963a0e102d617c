"""Collection benchmark against moto_server.

Seeds an Organization (default 5 accounts x 2 regions x 50 resources of each kind), measures the server's raw
throughput with a tight loop of a cheap call (sts:GetCallerIdentity) in this same run, then runs
`auditpack collect --org` as a subprocess (AWS_ENDPOINT_URL) several times and prints the median wall time,
API calls, API calls per resource, peak RSS of the collecting process, and the target:

    collection wall time <= 2 x (API calls made / raw throughput)

Every run collects the same, unchanged estate into one store, so the runs after the first are the nightly captures
of issue 18: for each it prints the evidence and gap rows added and what the blob store gained (blobs, stored
bytes). The target is that captures after the first add rows only: no blob, no byte.

Usage: .venv/bin/python bench/collect.py [--accounts 5] [--regions 2] [--per-kind 50] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evidence.aws.session import fix_s3control_host  # noqa: E402

ALL_REGIONS = ("us-east-1", "eu-west-1", "us-west-2", "eu-central-1", "ap-southeast-2")
KINDS = (
    "s3 bucket",
    "ebs volume",
    "ec2 instance",
    "security group",
    "rds instance",
    "kms key",
    "lambda function",
    "log group",
    "dynamodb table",
    "iam user (per account)",
)
CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 5}, max_pool_connections=32)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=sink, stderr=sink, env=env
        )
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
                return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"moto_server did not start: {log.read_text()[-1000:]}")


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return event\n")
    return buffer.getvalue()


def _member(base: boto3.Session, account: str) -> boto3.Session:
    creds = base.client("sts", config=CONFIG).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="bench"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def seed_region(session: boto3.Session, account: str, region: str, n: int) -> int:
    def client(name: str):  # type: ignore[no-untyped-def]
        made = session.client(name, region_name=region, config=CONFIG)
        if name == "s3control":
            made.meta.events.register("before-sign.s3-control", fix_s3control_host)
        return made

    s3, ec2, rds, kms = client("s3"), client("ec2"), client("rds"), client("kms")
    lam, logs, ddb, iam = client("lambda"), client("logs"), client("dynamodb"), client("iam")
    suffix = f"{account[-6:]}-{region}"
    role = iam.create_role(RoleName=f"fn-{region}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = _zip()
    ec2.run_instances(ImageId="ami-12345678", MinCount=n, MaxCount=n, InstanceType="t3.micro")
    for i in range(n):
        bucket = f"b{i}-{suffix}"
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        if i % 2:
            s3.put_bucket_encryption(
                Bucket=bucket,
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                },
            )
        ec2.create_volume(AvailabilityZone=f"{region}a", Size=8, Encrypted=bool(i % 2))
        ec2.create_security_group(GroupName=f"sg-{i}", Description="bench")
        rds.create_db_instance(
            DBInstanceIdentifier=f"db-{i}",
            Engine="postgres",
            DBInstanceClass="db.t3.micro",
            MasterUsername="admin",
            MasterUserPassword="not-a-secret-1",
            AllocatedStorage=20,
            StorageEncrypted=bool(i % 2),
        )
        key = kms.create_key(Description=f"k{i}")["KeyMetadata"]["KeyId"]
        if i % 2:
            kms.enable_key_rotation(KeyId=key)
        lam.create_function(
            FunctionName=f"fn-{i}", Runtime="python3.12", Role=role, Handler="handler.handle", Code={"ZipFile": code}
        )
        logs.create_log_group(logGroupName=f"/bench/{i}")
        ddb.create_table(
            TableName=f"t{i}",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    return 9 * n


def seed_account(session: boto3.Session, n: int) -> int:
    iam = session.client("iam", config=CONFIG)
    for i in range(n):
        iam.create_user(UserName=f"user-{i}")
        iam.create_access_key(UserName=f"user-{i}")
    return n


def seed(url: str, accounts: int, regions: tuple[str, ...], n: int) -> tuple[list[str], int]:
    base = boto3.Session(region_name="us-east-1")
    org = base.client("organizations", config=CONFIG)
    org.create_organization(FeatureSet="ALL")
    ids = [base.client("sts", config=CONFIG).get_caller_identity()["Account"]]
    for i in range(accounts - 1):
        ids.append(
            org.create_account(Email=f"m{i}@example.com", AccountName=f"m{i}")["CreateAccountStatus"]["AccountId"]
        )
    sessions = {account: base if account == ids[0] else _member(base, account) for account in ids}
    with ThreadPoolExecutor(max_workers=8) as pool:
        jobs = [pool.submit(seed_region, sessions[a], a, r, n) for a in ids for r in regions]
        jobs += [pool.submit(seed_account, sessions[a], n) for a in ids]
        resources = sum(job.result() for job in jobs)
    return ids, resources


def throughput(seconds: float, threads: int) -> float:
    """Calls per second of a cheap call, from `threads` threads sharing one client."""
    client = boto3.Session(region_name="us-east-1").client("sts", config=CONFIG)
    client.get_caller_identity()
    count = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def loop() -> None:
        done = 0
        while time.monotonic() < deadline:
            client.get_caller_identity()
            done += 1
        with lock:
            count[0] += done

    started = time.monotonic()
    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return count[0] / (time.monotonic() - started)


# Runs `auditpack ARGS` and reports the process's own peak RSS (VmHWM) on exit. getrusage's ru_maxrss is no use
# here: Linux carries the parent's high-water mark across fork/exec, so a child would report the seeding.
_WRAPPER = (
    "import atexit, sys\n"
    "def _peak():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            sys.stderr.write('PEAK_RSS_KB ' + line.split()[1] + '\\n')\n"
    "atexit.register(_peak)\n"
    "from auditpack.cli.app import main\n"
    "main(sys.argv[1:])\n"
)


def store_totals(database: Path) -> dict[str, int]:
    """Rows and blob bytes in the bench's SQLite store (bytes as stored: zlib-compressed canonical JSON); zeros
    before the first run has created it."""
    if not database.exists():
        return dict.fromkeys(("blobs", "blob_bytes", "payload_bytes", "evidence", "gaps"), 0)
    with sqlite3.connect(database) as connection:
        blobs, stored, raw = connection.execute(
            "SELECT count(*), coalesce(sum(length(data)), 0), coalesce(sum(size), 0) FROM blobs"
        ).fetchone()
        evidence = connection.execute("SELECT count(*) FROM evidence").fetchone()[0]
        gaps = connection.execute("SELECT count(*) FROM gaps").fetchone()[0]
    return {"blobs": blobs, "blob_bytes": stored, "payload_bytes": raw, "evidence": evidence, "gaps": gaps}


def print_growth(totals: list[dict[str, int]]) -> None:
    """What each capture added to the store (totals[0] is the empty store)."""
    print("store growth per capture of the same, unchanged estate:")
    steps = list(itertools.pairwise(totals))
    for index, (before, after) in enumerate(steps, start=1):
        added = {key: after[key] - before[key] for key in after}
        print(
            f"  capture {index}: +{added['evidence']} evidence rows, +{added['gaps']} gaps; blob store "
            f"+{added['blobs']} blobs, +{added['blob_bytes']:,} bytes stored ({added['payload_bytes']:,} bytes of "
            "payload)"
        )
    later = [after["blob_bytes"] - before["blob_bytes"] for before, after in steps[1:]]
    if later:
        verdict = "met" if not any(later) else "NOT met"
        print(f"target: captures after the first add no blob bytes: {verdict}")


def run_collection(env: dict[str, str], regions: tuple[str, ...], concurrency: int) -> dict[str, object]:
    args = [sys.executable, "-c", _WRAPPER, "collect", "--org", "--concurrency", str(concurrency), "--format", "json"]
    for region in regions:
        args += ["--region", region]
    started = time.monotonic()
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"collect failed ({done.returncode}): {done.stderr[-2000:]}")
    summary = json.loads(done.stdout)
    summary["process_wall_seconds"] = wall
    peaks = [line.split()[1] for line in done.stderr.splitlines() if line.startswith("PEAK_RSS_KB ")]
    summary["peak_rss_mb"] = int(peaks[-1]) / 1024 if peaks else float("nan")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=5)
    parser.add_argument("--regions", type=int, default=2, choices=range(1, len(ALL_REGIONS) + 1))
    parser.add_argument("--per-kind", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--throughput-seconds", type=float, default=5.0)
    options = parser.parse_args()
    regions = ALL_REGIONS[: options.regions]

    work = Path(tempfile.mkdtemp(prefix="auditpack-bench-"))
    process, url = start_server(work / "moto_server.log")
    fake = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
    os.environ.update({**fake, "AWS_ENDPOINT_URL": url})
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    try:
        started = time.monotonic()
        accounts, resources = seed(url, options.accounts, regions, options.per_kind)
        print(
            f"seeded {resources} resources ({', '.join(KINDS)}) in {len(accounts)} accounts x {len(regions)} regions "
            f"in {time.monotonic() - started:.1f} s"
        )
        single = throughput(options.throughput_seconds, 1)
        parallel = throughput(options.throughput_seconds, options.concurrency)
        print(
            f"moto_server raw throughput (sts:GetCallerIdentity): {single:.0f} calls/s with 1 thread, "
            f"{parallel:.0f} calls/s with {options.concurrency} threads"
        )

        env = {
            **os.environ,
            "AUDITPACK_DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
            "AUDITPACK_DATA_DIR": str(work / "data"),
            "AUDITPACK_AWS_MAX_ATTEMPTS": "2",
        }
        database = work / "bench.db"
        runs, totals = [], [store_totals(database)]
        for _ in range(options.repeat):
            runs.append(run_collection(env, regions, options.concurrency))
            totals.append(store_totals(database))
        peak_rss_mb = max(float(r["peak_rss_mb"]) for r in runs)  # type: ignore[arg-type]
        walls = [float(r["duration_seconds"]) for r in runs]  # type: ignore[arg-type]
        calls = int(statistics.median(int(r["api_calls"]) for r in runs))  # type: ignore[call-overload]
        wall = statistics.median(walls)
        floor = calls / parallel
        print(
            f"collection runs: {', '.join(f'{w:.1f}' for w in walls)} s (median {wall:.1f} s; process incl. "
            f"start-up {statistics.median(float(r['process_wall_seconds']) for r in runs):.1f} s)"
        )  # type: ignore[arg-type]
        print(
            f"API calls made: {calls} ({calls / resources:.2f} per resource); evidence items "
            f"{runs[-1]['evidence']}; gaps {runs[-1]['gaps']} (SSM and backup selections: not implemented by moto)"
        )
        print(f"peak RSS of the collecting process: {peak_rss_mb:.0f} MB")
        print_growth(totals)
        verdict = "met" if wall <= 2 * floor else "NOT met"
        print(
            f"target wall <= 2 x calls/throughput = 2 x {floor:.1f} s = {2 * floor:.1f} s: {verdict} "
            f"(ratio {wall / floor:.2f})"
        )
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main()
