"""`auditpack demo`: a fictitious AWS Organization built in moto, collected with the real collectors, evaluated,
and packaged into signed packets and bundles for every framework, all verified. No network, no credentials."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import typer

from auditpack.cli.output import OutputFormat, err, print_json


def demo(
    out_dir: Path = typer.Option(
        Path("auditpack-demo"),
        "--out",
        metavar="DIR",
        help="Directory for the demo's database, packets, bundles and signing CA.",
    ),
    workers: int | None = typer.Option(
        None, "--workers", min=1, max=3, help="Processes building the packets (default: one per core, at most 3)."
    ),
    output: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
) -> None:
    """Build Acme Health's AWS estate in moto (in-process: no network, no credentials), collect it with the real
    collectors, add Acme's customer evidence (policies, records, attestations, two exceptions) through the
    review workflow, and write signed HIPAA, PCI DSS and SOC 2 packets and bundles into DIR, then verify them.

    Running it again adds a second run to the evidence chain and replaces the packets and bundles in DIR; the
    customer evidence already there is not submitted twice.
    Exit 0 when every packet, bundle and the store verify; 1 when anything does not; 2 when moto is missing or DIR
    holds a store with runs the demo did not make.
    """
    from auditpack.demo.simulated import require_moto

    require_moto()  # before anything is written: without moto there is no demo (exit 2, how to install it)
    # Imported here: the demo's modules import moto lazily, and the rest of the CLI never needs them.
    from auditpack.cli.demo_summary import DemoReport, print_report, report_json
    from auditpack.cli.progress import RichCollectionProgress, new_progress
    from auditpack.demo.collect import DemoPaths, collect_estate, demo_settings, ensure_demo_store, settings_for
    from auditpack.demo.customer import planned, seed_customer_evidence
    from auditpack.demo.packets import verify_outputs, write_packets
    from auditpack.demo.spec import load_estate
    from auditpack.wiring import open_store

    spec = load_estate()
    paths = DemoPaths.of(out_dir)
    ensure_demo_store(paths)
    overrides = demo_settings(paths, spec)
    settings = settings_for(overrides)
    store = open_store(settings)
    timings: dict[str, float] = {}
    started = time.monotonic()
    with new_progress(err) as progress:
        building = progress.add_task(
            f"building {spec.organization}'s estate in moto ({len(spec.accounts)} accounts)", total=len(spec.accounts)
        )
        built, run = collect_estate(
            store,
            settings,
            spec,
            on_account=lambda _key, _id: progress.advance(building),
            on_built=lambda _built: timings.setdefault("build", time.monotonic() - started),
            progress=RichCollectionProgress(err, progress=progress),
        )
        timings["collect"] = time.monotonic() - started - timings["build"]
        mark = time.monotonic()
        seeded_at = datetime.now(UTC)
        submitting = progress.add_task(
            "customer evidence: documents, attestations, records and exceptions", total=planned(seeded_at)
        )
        seed_customer_evidence(settings, store, now=seeded_at, on_step=lambda: progress.advance(submitting))
        timings["customer evidence"] = time.monotonic() - mark
        as_of = datetime.now(UTC)
        mark = time.monotonic()
        tasks = {
            framework: progress.add_task(f"{framework} packet and bundle: evaluate, render, sign", total=1)
            for framework in ("hipaa", "pci-dss", "soc2")
        }
        packets = write_packets(
            overrides,
            paths,
            as_of=as_of,
            on_done=lambda p: progress.update(tasks[p.framework_id], completed=1),
            workers=workers,
        )
        timings["packets"] = time.monotonic() - mark
        mark = time.monotonic()
        verifying = progress.add_task("verifying packets, bundles and the evidence store", total=1)
        verified = verify_outputs(paths, packets, overrides)
        progress.update(verifying, completed=1)
        timings["verify"] = time.monotonic() - mark
    timings["total"] = time.monotonic() - started
    report = DemoReport(
        spec=spec,
        paths=paths,
        built=built,
        run=store.get_run(run.id),
        runs=store.list_runs(limit=1000),
        gaps=store.gaps(run.id),
        packets=packets,
        verified=verified,
        timings=timings,
    )
    store.engine.dispose()
    if output is OutputFormat.json:
        print_json(report_json(report))
    else:
        print_report(report)
    if not verified.ok:
        raise typer.Exit(1)
