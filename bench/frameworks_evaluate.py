"""How long evaluating a framework takes for a large estate: findings for every check over N resources.

    .venv/bin/python bench/frameworks_evaluate.py [RESOURCES_PER_CHECK] [REPEATS]

Prints the median (and min/max) wall time per framework and the time to load and validate the packaged
catalogs. Nothing is asserted: figures are for the report, taken on whatever machine runs this.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from evidence.checks.registry import check_metadata
from evidence.checks.types import SERVICE_TYPES, Finding, FindingStatus, ServiceUsage
from frameworks.evaluate import evaluate_framework
from frameworks.loader import load_catalog_file, load_catalogs
from frameworks.results import RunRef


def _findings(per_check: int, observed: datetime) -> list[Finding]:
    findings = []
    for check_id in check_metadata():
        for index in range(per_check):
            status = FindingStatus.FAIL if index % 17 == 0 else FindingStatus.PASS
            findings.append(
                Finding(
                    check_id=check_id,
                    status=status,
                    account_id=f"{100000000000 + index % 40}",
                    region=("us-east-1", "eu-west-1", "ap-south-1")[index % 3],
                    resource_id=f"arn:aws:x:::{check_id}/{index}",
                    reason="bench",
                    evidence=("0" * 64,),
                    observed_at=observed,
                )
            )
    return findings


def main() -> None:
    per_check = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    as_of = datetime.now(UTC)
    findings = _findings(per_check, as_of - timedelta(hours=1))
    usage = ServiceUsage(counts={("100000000000", "us-east-1", s): 10 for s in SERVICE_TYPES})
    run = RunRef(id=1, status="complete", started_at=as_of - timedelta(hours=2), finished_at=as_of, digest=None)
    catalogs = load_catalogs()
    load_times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for entry in catalogs:
            load_catalog_file(entry.source)
        load_times.append(time.perf_counter() - start)
    print(f"load+validate {len(catalogs)} packaged catalogs: median {statistics.median(load_times) * 1000:.0f} ms")
    print(f"{len(findings)} findings ({per_check} per check x {len(check_metadata())} checks)")
    for entry in catalogs:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            evaluate_framework(
                entry.catalog, findings=findings, gaps=(), usage=usage, runs=(run,), as_of=as_of, freshness_hours=48
            )
            times.append(time.perf_counter() - start)
        print(
            f"{entry.catalog.id}: median {statistics.median(times):.2f} s "
            f"(min {min(times):.2f}, max {max(times):.2f}, {repeats} runs, {len(entry.catalog.controls)} controls)"
        )


if __name__ == "__main__":
    main()
