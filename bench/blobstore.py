"""Benchmark: recording and reading N evidence items through the S3 blob store (moto in-process, Object Lock), with
a simulated S3 round trip, against the database store.

    .venv/bin/python bench/blobstore.py [--items 5000] [--latency-ms 20] [--workers 1 16]

moto in-process answers in well under a millisecond; real S3 takes 10-30 ms per request from inside a region, which
is what the thread pool (puts) and the prefetch (reads) exist to hide. `--latency-ms` sleeps that long in every S3
call (a botocore `before-call` hook; the sleep releases the GIL as a network wait does). For each worker count:
record N distinct payloads (one run), record them again (a second identical capture: no object is put), read the
run back (`iter_evidence`, prefetched), and `verify --store`'s object check. Prints wall seconds for each.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from evidence.blobstore import S3BlobStore, S3Location, attach  # noqa: E402
from evidence.db import make_engine  # noqa: E402
from evidence.store import EvidenceStore  # noqa: E402
from evidence.verification import verify_store  # noqa: E402
from migrations.schema import upgrade_schema  # noqa: E402


def record(store: EvidenceStore, items: int) -> float:
    started = time.perf_counter()
    run = store.start_run(trigger="cli", requested_by="bench", scope={})
    with store.recorder(run.id) as recorder:
        for n in range(items):
            recorder.add(
                account_id="111111111111",
                region="us-east-1",
                service="s3",
                resource_type="bucket",
                resource_id=f"arn:aws:s3:::bucket-{n}",
                kind="s3.bucket_encryption",
                payload={"Bucket": f"bucket-{n}", "Rules": [{"SSEAlgorithm": "aws:kms", "KeyId": f"key-{n % 7}"}]},
            )
    store.finish_run(run.id)
    return time.perf_counter() - started


def measure(label: str, items: int, blobs: Any | None) -> None:
    with tempfile.TemporaryDirectory() as work:
        engine = make_engine(f"sqlite:///{work}/bench.db")
        upgrade_schema(engine)
        if blobs is not None:
            attach(engine, blobs)
        store = EvidenceStore(engine)
        first = record(store, items)
        second = record(store, items)
        started = time.perf_counter()
        read = sum(1 for _ in store.iter_evidence(1))
        reading = time.perf_counter() - started
        started = time.perf_counter()
        result = verify_store(engine)
        verifying = time.perf_counter() - started
        assert read == items and result.intact, result.problems[:3]
        print(
            f"{label:<28} record {first:6.2f} s   again {second:6.2f} s   read {reading:6.2f} s   "
            f"verify --store {verifying:6.2f} s   ({items:,} items)",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 16])
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    measure("database store", args.items, None)
    with mock_aws():
        client = boto3.client("s3", config=boto3.session.Config(max_pool_connections=64))
        delay = args.latency_ms / 1000
        client.meta.events.register("before-call.s3.*", lambda **_: time.sleep(delay))
        for workers in args.workers:
            bucket = f"bench-worm-{workers}"
            client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
            blobs = S3BlobStore(client, S3Location.parse(f"s3://{bucket}/ev"), retention_days=1, workers=workers)
            measure(f"S3, {workers} worker(s), {args.latency_ms:g} ms", args.items, blobs)


if __name__ == "__main__":
    main()
