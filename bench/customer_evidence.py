"""Benchmark: customer evidence at scale: 10,000 approved items, 200 of them documents totalling 2 GB.

    .venv/bin/python bench/customer_evidence.py [--items 10000] [--documents 200] [--total-gb 2]
                                                [--db-url URL] [--framework hipaa] [--mixed] [--runs 1]

Targets (issue 12): status evaluation with 10,000 items <= 2 s; a packet with the 2 GB of documents attached
builds in <= 1 GB peak RSS (its build time is reported). Prints, each measured in a fresh process so its peak RSS
is its own:

- load: `customer_evidence(engine, as_of=now)`, every item and exception with its history;
- status: `auditpack.wiring.framework_status` for each framework, as `auditpack status` runs it: each reads the
  customer evidence as of its moment and evaluates both axes (the load line is that read on its own);
- packet: `auditpack packet --framework F --out ... --bundle ...`, wall time and peak RSS.

Every document supports a control of `--framework` (default hipaa) and the small items support controls of the
other frameworks only, so that packet attaches exactly the 2 GB of documents: the figure is what the documents
cost. A packet also lists every item it relies on, and that listing costs memory of its own (roughly 0.5 MiB per
item in the rendered body); `--mixed` lets the small items name the measured framework too, to measure that.

The store (SQLite in bench/out/ by default; `--db-url` for PostgreSQL, e.g. a scratch database) is seeded once
through `evidence.customer.service`, as the API would (submitted by one officer, approved by another), with a
small synthetic collection run to put the packet on; seeding is not part of the figures. Documents are valid
PDFs whose one stream is random bytes (incompressible, like scanned reports). SQLite stores are cached by their
parameters, so reruns skip seeding; PostgreSQL stores are seeded when they hold no items yet.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from auditpack.settings import load_settings  # noqa: E402
from auditpack.wiring import (  # noqa: E402
    customer_policy,
    framework_status,
    load_framework_catalogs,
    open_store,
    stored_findings,
)
from evidence.customer import service  # noqa: E402
from evidence.customer.policy import Actor, CustomerPolicy, Role  # noqa: E402
from evidence.db import make_engine  # noqa: E402
from evidence.store import EvidenceStore  # noqa: E402
from migrations.schema import upgrade_schema  # noqa: E402

OUT = ROOT / "bench" / "out"
FRAMEWORKS = ("hipaa", "pci-dss", "soc2")
SUBMITTER = Actor("Bench Submitter, Compliance Officer", Role.OFFICER)
REVIEWER = Actor("Bench Reviewer, CISO", Role.OFFICER)
ACCOUNTS = [f"{100000000000 + i * 7919:012d}" for i in range(5)]


def pdf_bytes(size: int, rng: random.Random) -> bytes:
    """A valid one-page PDF of about `size` bytes whose page content stream is random (incompressible) bytes."""
    filler = rng.randbytes(max(size - 600, 16))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(filler) + filler + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def _record_run(store: EvidenceStore) -> None:
    """A small collection run: a packet needs one to rest on (its size is not what this benchmark measures)."""
    run = store.start_run(trigger="cli", requested_by="bench", scope={"accounts": ACCOUNTS})
    with store.recorder(run.id, batch_size=500) as recorder:
        for index in range(500):
            account = ACCOUNTS[index % len(ACCOUNTS)]
            arn = f"arn:aws:s3:::bench-{account}-{index:05d}"
            payload = {"Name": arn.rsplit(":", 1)[-1], "Encryption": {"Enabled": index % 10 != 0}}
            recorder.add(
                account_id=account,
                region="us-east-1",
                service="s3",
                resource_type="bucket",
                resource_id=arn,
                kind="s3.configuration",
                payload=payload,
            )
    store.finish_run(run.id)


def seed(db_url: str, data_dir: Path, args: argparse.Namespace) -> None:
    settings = load_settings(database_url=db_url, data_dir=data_dir)
    engine = make_engine(db_url)
    upgrade_schema(engine)
    store = EvidenceStore(engine)
    if service.list_items(engine, limit=1).rows:
        return
    started = time.perf_counter()
    _record_run(store)
    run = store.latest_run()
    assert run is not None
    stored_findings(settings)(store, run.id)  # evaluated now, so the measured processes only read them
    seed_items(
        engine,
        customer_policy(settings),
        items=args.items,
        documents=args.documents,
        total_gb=args.total_gb,
        framework=args.framework,
        mixed=args.mixed,
    )
    engine.dispose()
    print(f"seeded {args.items:,} items in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def seed_items(
    engine: Engine,
    policy: CustomerPolicy,
    *,
    items: int,
    documents: int,
    total_gb: float,
    framework: str,
    mixed: bool,
    pending_every: int = 0,
) -> None:
    """`items` items through the service, as the API would: submitted by one officer, approved by another
    (except every `pending_every`-th, left awaiting review). The first `documents` are PDFs of `total_gb` in all,
    each supporting a control of `framework`; the rest are attestations and CSV records naming 1 to 3 controls
    of the other frameworks (of any framework with `mixed`). Shared with bench/ui.py."""
    started = time.perf_counter()
    controls = sorted(policy.known_controls)
    measured = [c for c in controls if c.startswith(f"{framework}:")]
    others = controls if mixed else [c for c in controls if not c.startswith(f"{framework}:")]
    rng = random.Random(12)
    document_size = int(total_gb * 1024**3 / documents) if documents else 0
    now = datetime.now(UTC)
    for index in range(items):
        at = now - timedelta(days=30, seconds=items - index)
        named = rng.sample(others, rng.randint(1, 3))
        common = {"policy": policy, "actor": SUBMITTER, "owner": "Bench Owner", "now": at}
        if index < documents:
            with tempfile.TemporaryFile() as spool:
                spool.write(pdf_bytes(document_size, rng))
                spool.seek(0)
                item = service.submit_document(
                    engine, stream=spool, title=f"Policy document {index}", controls=[rng.choice(measured)],
                    filename=f"document-{index}.pdf", **common,
                )  # fmt: skip
        elif index % 5 < 3:
            statement = f"Statement {index}: the control operated as designed throughout the period. " * 3
            item = service.submit_attestation(
                engine, statement=statement, statement_by="Bench Person, Control Owner", title=f"Attestation {index}",
                controls=named, **common,
            )  # fmt: skip
        else:
            export = "ticket,status,closed\n" + "".join(
                f"SEC-{index}-{n},done,2026-10-0{n % 9 + 1}\n" for n in range(20)
            )
            item = service.submit_record(
                engine, url=f"https://tickets.example.com/SEC-{index}", stream=io.BytesIO(export.encode()),
                title=f"Record {index}", controls=named, filename=f"record-{index}.csv", **common,
            )  # fmt: skip
        if not pending_every or index % pending_every != pending_every - 1:
            service.approve(engine, item_id=item.id, actor=REVIEWER, now=at + timedelta(seconds=1))
        if index % 500 == 499:
            print(f"  seeded {index + 1:,} items ({time.perf_counter() - started:.0f} s)", file=sys.stderr)


def measure(what: str, db_url: str, data_dir: Path, framework_id: str) -> None:
    """Runs in a fresh process: print the seconds `what` took as JSON."""
    settings = load_settings(database_url=db_url, data_dir=data_dir)
    store = open_store(settings, recover=False)
    now = datetime.now(UTC)
    figures: dict[str, float] = {}
    if what == "load":
        started = time.perf_counter()
        evidence = service.customer_evidence(store.engine, as_of=now)
        figures["seconds"] = time.perf_counter() - started
        figures["items"] = len(evidence.items)
        figures["in_packet"] = sum(
            1 for item in evidence.items if any(r.framework == framework_id for r in item.controls)
        )
    else:
        catalogs = load_framework_catalogs(settings)
        for framework in FRAMEWORKS:
            started = time.perf_counter()
            framework_status(settings, store, catalogs.get(framework), as_of=now)
            figures[framework] = time.perf_counter() - started
    print(json.dumps(figures))


def _child(command: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in MiB, stdout) of one child process: os.wait4 gives that child's own rusage."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode:
            raise SystemExit(f"{' '.join(command)} failed:\n{err.read().decode()[-3000:]}")
        return wall, usage.ru_maxrss // 1024, out.read().decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--total-gb", type=float, default=2.0, help="the documents' total size")
    parser.add_argument("--db-url", help="default: a SQLite store cached in bench/out/")
    parser.add_argument("--framework", default="hipaa", help="the packet built (every document supports it)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--mixed", action="store_true", help="small items may support the measured framework too")
    parser.add_argument("--measure", choices=("load", "status"), help=argparse.SUPPRESS)  # the child processes
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    name = f"customer-{args.items}-{args.documents}-{args.total_gb:g}gb-{args.framework}" + (
        "-mixed" if args.mixed else ""
    )
    data_dir = OUT / f"{name}-data"
    db_url = args.db_url or f"sqlite:///{OUT / name}.db"
    if args.measure:
        measure(args.measure, db_url, data_dir, args.framework)
        return
    if args.db_url is None and not (OUT / f"{name}.db").exists():
        partial = OUT / f"{name}.partial"
        partial.unlink(missing_ok=True)
        seed(f"sqlite:///{partial}", data_dir, args)
        partial.rename(OUT / f"{name}.db")
    elif args.db_url is not None:
        seed(db_url, data_dir, args)
    env = {**os.environ, "AUDITPACK_DATABASE_URL": db_url, "AUDITPACK_DATA_DIR": str(data_dir)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    me = [sys.executable, str(Path(__file__).resolve())]
    location = "SQLite" if args.db_url is None else "PostgreSQL" if "postgres" in db_url else db_url.split(":")[0]
    print(
        f"{args.items:,} items ({args.documents} documents, {args.total_gb:g} GB) in {location}; "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
    )
    pdf, bundle = OUT / f"{name}-{args.framework}.pdf", OUT / f"{name}-{args.framework}.zip"
    for run in range(1, args.runs + 1):
        wall, rss, text = _child([*me, *_passthrough(args), "--measure", "load"], env)
        load = json.loads(text)
        print(f"run {run} load     {load['seconds']:6.2f} s for {load['items']:,} items; process {wall:.1f} s, "
              f"peak RSS {rss} MiB")  # fmt: skip
        relied = int(load["in_packet"])
        wall, rss, text = _child([*me, *_passthrough(args), "--measure", "status"], env)
        status = json.loads(text)
        shown = ", ".join(f"{framework} {seconds:.2f} s" for framework, seconds in status.items())
        print(f"run {run} status   {shown}; process {wall:.1f} s, peak RSS {rss} MiB")
        command = [sys.executable, "-m", "auditpack", "packet", "--framework", args.framework, "--out", str(pdf)]
        wall, rss, text = _child([*command, "--bundle", str(bundle), "--force", "--format", "json"], env)
        sizes = f"PDF {pdf.stat().st_size / 1024**3:.2f} GB, bundle {bundle.stat().st_size / 1024**3:.2f} GB"
        pages = json.loads(text)["pages"]
        print(
            f"run {run} packet   {wall:6.1f} s, peak RSS {rss} MiB ({args.framework}: {relied:,} items relied on, "
            f"{pages:,} pages; {sizes})"
        )
        pdf.unlink()
        bundle.unlink()


def _passthrough(args: argparse.Namespace) -> list[str]:
    """The options that name the store, for the measuring child processes."""
    found = ["--items", str(args.items), "--documents", str(args.documents), "--total-gb", str(args.total_gb)]
    found += ["--framework", args.framework, *(["--mixed"] if args.mixed else [])]
    return found + (["--db-url", args.db_url] if args.db_url else [])


if __name__ == "__main__":
    main()
