"""Benchmark: the diff of two runs of N evidence items each (default 1,000,000) with 1% of them changed.

    .venv/bin/python bench/drift.py [--size 1000000] [--runs 3] [--json] [--postgres URL]

Builds (once, cached in bench/out/drift-N.db) a store of two sealed runs with their findings: run 1 holds N items
(bench/packet.py's synthetic estate: 20 accounts, 5 regions, 7 services); run 2 the same with 1% of the items'
payload changed (encryption switched, a tag changed; its finding flips), every 1000th item gone and N/1000 new ones.
Rows are written with their real hashes (content addresses, record hashes, run digests: the store verifies), but
computed in worker processes and inserted in bulk rather than through the recorder, which would take half an hour
for two million items on a shared 2-core machine; building is not part of the figures.

Each measurement runs in a fresh process (so its peak RSS is its own): open the diff of run 1 and run 2 and stream
every resource, tallying them as `auditpack diff` does (with --json, also serialising each resource as
`--format json` prints it). Prints each run and the median wall time and peak RSS.
Target (issue 15): <= 30 s and <= 500 MB peak RSS for 1,000,000 items each.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from packet import OBSERVED, _item  # noqa: E402
from peak import peak_rss_bytes  # noqa: E402

from core import canonical  # noqa: E402
from evidence.chain import evidence_record_hash  # noqa: E402

OUT = ROOT / "bench" / "out"
CHUNK = 20_000


def _changed(index: int) -> bool:
    """1% of the items: half of them passing before (they newly fail), half failing (they are resolved)."""
    return index % 200 in (7, 50)


def _gone(index: int) -> bool:
    return index % 1000 == 3


def _payload(index: int, run: int) -> dict[str, Any]:
    item = _item(index)
    payload = dict(item["payload"])  # type: ignore[arg-type]
    if run == 2 and _changed(index):
        payload["Encryption"] = {**payload["Encryption"], "Enabled": not payload["Encryption"]["Enabled"]}
        payload["Tags"] = [{"Key": "Owner", "Value": "team-changed"}, *payload["Tags"][1:]]
    return {**item, "payload": payload}


def _rows(args: tuple[int, int, int, int]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(blobs, evidence rows) for items [start, stop) of run `run` (database id `run_id`)."""
    start, stop, run, run_id = args
    version = canonical.CURRENT_VERSION
    blobs, rows = [], []
    for index in range(start, stop):
        if run == 2 and _gone(index):
            continue
        item = _payload(index, run)
        sha256, data = canonical.content_address(item["payload"], version=version)
        if run == 1 or _changed(index) or index >= SIZE:
            blobs.append({"sha256": sha256, "size": len(data), "data": zlib.compress(data, 6)})
        row = {key: item[key] for key in ("account_id", "region", "service", "resource_type", "resource_id", "kind")}
        row.update(run_id=run_id, observed_at=OBSERVED, owner=item["owner"], sha256=sha256, canonical_version=version)
        row["record_sha256"] = evidence_record_hash(**row)
        rows.append(row)
    return blobs, rows


SIZE = 0  # set in workers through the initializer


def _init(size: int) -> None:
    global SIZE
    SIZE = size


def _findings(size: int, run: int) -> Any:
    from packet import findings_for

    from evidence.checks.types import FindingStatus

    for index, finding in enumerate(findings_for(size + (size // 1000 if run == 2 else 0))):
        if run == 2 and index < size and _gone(index):
            continue
        if run == 2 and _changed(index):
            flipped = FindingStatus.PASS if finding.status is FindingStatus.FAIL else FindingStatus.FAIL
            finding = replace(finding, status=flipped)
        yield finding


def build(url: str, size: int) -> None:
    from sqlalchemy import insert

    from evidence.checks.thresholds import Thresholds
    from evidence.db import make_engine
    from evidence.findings import save_findings
    from evidence.models import Blob, Evidence
    from evidence.recorder import insert_ignoring_duplicates
    from evidence.store import EvidenceStore
    from migrations.schema import upgrade_schema

    engine = make_engine(url)
    upgrade_schema(engine)
    store = EvidenceStore(engine)
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=2, initializer=_init, initargs=(size,)) as pool:
        for run in (1, 2):
            created = store.start_run(trigger="schedule", requested_by="bench/drift.py", scope={"bench": size})
            total = size + (size // 1000 if run == 2 else 0)
            chunks = [(start, min(start + CHUNK, total), run, created.id) for start in range(0, total, CHUNK)]
            for blobs, rows in pool.map(_rows, chunks):
                with store.sessions.begin() as session:
                    if blobs:
                        session.execute(insert_ignoring_duplicates(Blob.__table__, engine.dialect.name), blobs)
                    session.execute(insert(Evidence), rows)
            store.finish_run(created.id)
            save_findings(store, created.id, _findings(size, run), thresholds=Thresholds())
            print(
                f"run {created.id}: {total:,} items recorded ({time.perf_counter() - started:.0f} s)", file=sys.stderr
            )
    engine.dispose()


def measure(url: str, as_json: bool) -> dict[str, Any]:
    from evidence.db import make_engine
    from evidence.diff.engine import RunDiff
    from evidence.diff.jsonable import resource_json
    from evidence.diff.types import DiffTally
    from evidence.store import EvidenceStore

    store = EvidenceStore(make_engine(url))
    started = time.perf_counter()
    diff = RunDiff.open(store, 1, 2)
    tally = DiffTally()
    written = 0
    with open(os.devnull, "w") as sink:
        for item in diff.resources():
            tally.observe(item)
            if as_json:
                written += sink.write(json.dumps(resource_json(item), default=str))
    wall = time.perf_counter() - started
    rss = peak_rss_bytes()
    return {"wall": wall, "rss": rss, "tally": tally.as_dict(), "json_bytes": written}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="also serialise every resource as --format json does")
    parser.add_argument("--postgres", help="a PostgreSQL URL (an empty database) instead of the cached SQLite file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.url, args.json)))
        return
    if args.postgres:
        url = args.postgres
        from sqlalchemy import text

        from evidence.db import make_engine

        engine = make_engine(url)
        with engine.connect() as connection:
            present = connection.execute(text("SELECT to_regclass('runs') IS NOT NULL")).scalar()
            runs = connection.execute(text("SELECT count(*) FROM runs")).scalar() if present else 0
        engine.dispose()
        if not runs:
            build(url, args.size)
    else:
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / f"drift-{args.size}.db"
        url = f"sqlite:///{path}"
        if not path.exists():
            partial = path.with_suffix(".partial")
            partial.unlink(missing_ok=True)
            build(f"sqlite:///{partial}", args.size)
            partial.rename(path)
    results = []
    for attempt in range(args.runs):
        command = [sys.executable, __file__, "--child", "--url", url] + (["--json"] if args.json else [])
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        result = json.loads(output)
        results.append(result)
        print(f"run {attempt + 1}: {result['wall']:.1f} s, peak RSS {result['rss'] / 2**20:.0f} MB")
    tally = results[0]["tally"]
    print(f"resources: {tally['resources']}; findings: {tally['findings']}")
    wall = statistics.median(r["wall"] for r in results)
    rss = statistics.median(r["rss"] for r in results) / 2**20
    mode = " (with JSON)" if args.json else ""
    print(f"median of {len(results)}{mode}: {wall:.1f} s, peak RSS {rss:.0f} MB for {args.size:,} items per run")


if __name__ == "__main__":
    main()
