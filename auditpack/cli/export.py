"""`auditpack export oscal`: the OSCAL assessment results, POA&M, SSP fragment and catalog of one framework."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from auditpack.cli.output import CaptureOption, OutputFormat, err, out, print_json
from core.errors import InputError

app = typer.Typer(help="Export evaluated evidence in interchange formats (OSCAL).", no_args_is_help=True)


@app.command("oscal")
def oscal(
    framework: str = typer.Option(..., "--framework", help="Framework id: hipaa, pci-dss, soc2 or a user catalog."),
    as_of: str | None = typer.Option(
        None, "--as-of", help="YYYY-MM-DD: evidence as of the end of that day (UTC). Default: today."
    ),
    date_from: str | None = typer.Option(None, "--from", help="YYYY-MM-DD: start of the period (with --to)."),
    date_to: str | None = typer.Option(None, "--to", help="YYYY-MM-DD: end of the period (with --from)."),
    captures: CaptureOption | None = typer.Option(
        None,
        "--captures",
        help="With --from/--to: all runs, or the last of each day (default AUDITPACK_PERIOD_CAPTURES); one "
        "observation per capture.",
    ),
    account: list[str] = typer.Option([], "--account", help="Limit the export to this account (repeatable)."),
    out_dir: Path = typer.Option(..., "--out", help="Directory to write the documents into (created if missing)."),
    force: bool = typer.Option(False, "--force", help="Replace documents already in --out."),
    output: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
) -> None:
    """Write the OSCAL assessment results, POA&M and SSP fragment (the AWS responsibility split) of one framework,
    and its catalog: assessment-results.json, poam.json, ssp.json and catalog.json (OSCAL 1.2.1, JSON).

    The same framework, window, accounts and stored evidence give byte-identical documents: UUIDs are derived
    from them and timestamps come from the data. Without --as-of or --from/--to the export is as of the end of
    today (UTC), so exports made on the same day of an unchanged store are identical. For a period, every capture
    (run) in it is evaluated and the assessment results carry one observation per capture. See docs/interchange.md."""
    from auditpack.oscal_export import export_oscal
    from auditpack.packets import Window
    from auditpack.settings import load_settings
    from auditpack.wiring import open_store
    from frameworks.asof import parse_day
    from reports.oscal import OSCAL_VERSION

    if (date_from is None) != (date_to is None):
        raise InputError("--from and --to go together: give both to cover a period")
    if as_of is not None and date_from is not None:
        raise InputError("give either --as-of or --from/--to, not both")
    if captures is not None and date_from is None:
        raise InputError("--captures chooses the runs of a period: give --from and --to too")
    if date_from and date_to:
        window = Window.of(period=(parse_day(date_from, option="--from"), parse_day(date_to, option="--to")))
    else:
        window = Window.of(as_of=parse_day(as_of) if as_of else datetime.now(UTC).date())
    settings = load_settings()
    store = open_store(settings)
    with err.status(f"exporting {framework} as OSCAL (evaluating, writing)…"):
        result = export_oscal(
            settings,
            store,
            framework=framework,
            window=window,
            accounts=account,
            out_dir=out_dir,
            force=force,
            captures=captures.value if captures else None,
        )
    status = result.status
    for warning in status.warnings:
        err.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    summary = {
        "framework": status.framework_id,
        "oscal_version": OSCAL_VERSION,
        "as_of": status.as_of.isoformat(),
        "period": {"from": window.since.isoformat(), "to": window.until.isoformat()} if window.since else None,
        "runs": [run.id for run in status.runs],
        "controls_by_status": status.by_status,
        "documents": {
            doc.document.name: {"path": str(doc.path), "sha256": doc.sha256, "bytes": doc.size}
            for doc in result.documents
        },
    }
    if output is OutputFormat.json:
        print_json(summary)
        return
    out.print(f"[bold]{status.name} {status.version}[/bold] as OSCAL {OSCAL_VERSION}, as of {status.as_of.isoformat()}")
    out.print(f"  controls: {', '.join(f'{count} {name}' for name, count in status.by_status.items())}")
    for doc in result.documents:
        out.print(f"  {doc.document.name + ':':<20}{doc.path} ({doc.size:,} bytes, sha256 {doc.sha256})")
