"""Benchmark: the OSCAL export of the synthetic 1,000 / 100,000 / 1,000,000-item stores against the packet build.

    .venv/bin/python bench/oscal.py [--sizes 100000 1000000] [--runs 3] [--what oscal packet packet+bundle]

For each size, in fresh processes (so each peak RSS is its own), median over --runs (one run at a million):
- `oscal`: the four OSCAL documents written to a directory (reports.oscal.export.write_directory) from the same
  synthetic status `bench/packet.py` builds its packets from (300 controls, 28 checks, 10% of findings failing);
- `packet`: that packet (PDF only, as bench/packet.py measures it);
- `packet+bundle`: the packet with its bundle, which now carries the OSCAL documents too.
Prints wall time, CPU time (user + system, of the measured step: steadier than wall time on a busy machine), peak
RSS and the documents' sizes, and the ratio oscal / packet (target: at most 2).
Stores are bench/packet.py's, recorded once and cached in bench/out/.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from packet import OUT, ensure_store, findings_for, synthetic_status  # noqa: E402
from peak import peak_rss_bytes  # noqa: E402

from evidence.db import make_engine  # noqa: E402
from evidence.store import EvidenceStore  # noqa: E402


def oscal_child(size: int, db: Path) -> dict[str, object]:
    from reports.customer_view import CustomerSection, PacketWindow
    from reports.oscal.context import ExportContext
    from reports.oscal.evidence import EvidenceSource
    from reports.oscal.export import write_directory
    from reports.oscal.ids import Ids

    store = EvidenceStore(make_engine(f"sqlite:///{db}"))
    status = synthetic_status(store, size)
    run = store.latest_run()
    assert run is not None
    started, cpu = time.perf_counter(), time.process_time()
    context = ExportContext(
        status=status,
        ids=Ids.for_export({"bench": size}),
        org_name="Benchmark Ltd",
        last_modified=status.as_of,
        evidence=EvidenceSource(store, [run.id]),
        gaps=store.gaps(run.id),
        customer=CustomerSection(PacketWindow(until=status.as_of)),
        tool_version="bench",
    )
    written = write_directory(context, OUT / "oscal" / str(size), force=True)
    return {
        "wall": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
        "rss": peak_rss_bytes(),
        "documents": {doc.document.name: doc.size for doc in written},
    }


def packet_child(size: int, db: Path, bundle: bool) -> dict[str, object]:
    from reports.packet import build_packet
    from reports.signing import load_signer

    store = EvidenceStore(make_engine(f"sqlite:///{db}"))
    status = synthetic_status(store, size)
    signer = load_signer(data_dir=OUT / "data")
    run = store.latest_run()
    assert run is not None
    (OUT / "packets").mkdir(parents=True, exist_ok=True)
    started, cpu = time.perf_counter(), time.process_time()
    result = build_packet(
        store=store,
        status=status,
        findings=findings_for(size),
        gaps=store.gaps(run.id),
        signer=signer,
        out_pdf=OUT / "packets" / f"oscal-bench-{size}.pdf",
        out_bundle=OUT / "packets" / f"oscal-bench-{size}.zip" if bundle else None,
        packet_id=f"BENCH-{size}",
        org_name="Benchmark Ltd",
        generated_by="bench/oscal.py",
    )
    return {
        "wall": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
        "rss": peak_rss_bytes(),
        "bundle": result.bundle_size,
    }


def measure(kind: str, size: int, db: Path, runs: int) -> dict[str, float]:
    results = []
    for _ in range(runs):
        command = [sys.executable, __file__, "--child", kind, "--size", str(size), "--db", str(db)]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
    figures = {"wall": statistics.median(r["wall"] for r in results)}
    figures["cpu"] = statistics.median(r["cpu"] for r in results)
    figures["rss"] = statistics.median(r["rss"] for r in results)
    figures["extra"] = results[0].get("documents") or results[0].get("bundle")  # type: ignore[assignment]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=3, help="runs per size (1,000,000 items: at most 1)")
    parser.add_argument(
        "--what",
        nargs="+",
        choices=["oscal", "packet", "packet+bundle"],
        default=["oscal", "packet", "packet+bundle"],
        help="what to measure (default: all three)",
    )
    parser.add_argument("--child", choices=["oscal", "packet", "packet+bundle"], help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.child == "oscal":
            figures = oscal_child(args.size, args.db)
        else:
            figures = packet_child(args.size, args.db, bundle=args.child == "packet+bundle")
        print(json.dumps(figures))
        return
    print(f"{'items':>10} {'runs':>4} {'what':>14} {'wall s':>8} {'CPU s':>8} {'peak RSS MB':>11}  sizes")
    for size in args.sizes:
        db = ensure_store(size)
        runs = 1 if size >= 1_000_000 else args.runs
        kinds = args.what
        measured = {}
        for kind in kinds:
            figures = measured[kind] = measure(kind, size, db, runs)
            extra = figures["extra"]
            if isinstance(extra, dict):
                sizes = ", ".join(f"{name} {count / 2**20:.1f} MB" for name, count in extra.items())
            else:
                sizes = f"bundle {extra / 2**20:.1f} MB" if extra else ""
            wall, cpu, rss = figures["wall"], figures["cpu"], figures["rss"] / 2**20
            print(f"{size:>10,} {runs:>4} {kind:>14} {wall:>8.1f} {cpu:>8.1f} {rss:>11.0f}  {sizes}", flush=True)
        if "packet" in measured and "oscal" in measured:
            ratio = measured["oscal"]["wall"] / measured["packet"]["wall"]
            cpu_ratio = measured["oscal"]["cpu"] / measured["packet"]["cpu"]
            verdict = "within" if ratio <= 2 else "OVER"
            print(
                f"{size:>10,}      oscal / packet = {ratio:.2f} wall, {cpu_ratio:.2f} CPU ({verdict} the 2x target)",
                flush=True,
            )


if __name__ == "__main__":
    main()
