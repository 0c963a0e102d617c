"""`auditpack packet`: a signed PDF audit packet (and optionally the evidence bundle) for one framework."""

from __future__ import annotations

import getpass
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from auditpack.cli.output import CaptureOption, OutputFormat, err, out, print_json
from core.errors import InputError

if TYPE_CHECKING:
    from auditpack.packets import Window


def _default_out(framework: str, window: Window) -> Path:
    if window.since is not None:
        return Path(f"auditpack-{framework}-{window.since.date().isoformat()}_{window.until.date().isoformat()}.pdf")
    return Path(f"auditpack-{framework}-{window.until.date().isoformat()}.pdf")


def _refuse_overwrite(path: Path | None, force: bool) -> None:
    if path is not None and path.exists() and not force:
        raise InputError(f"{path} already exists; choose another --out/--bundle or pass --force to replace it")


def packet(
    framework: str = typer.Option(..., "--framework", help="Framework id: hipaa, pci-dss, soc2 or a user catalog."),
    as_of: str | None = typer.Option(None, "--as-of", help="YYYY-MM-DD: evidence as of the end of that day (UTC)."),
    date_from: str | None = typer.Option(None, "--from", help="YYYY-MM-DD: start of the period (with --to)."),
    date_to: str | None = typer.Option(None, "--to", help="YYYY-MM-DD: end of the period (with --from)."),
    captures: CaptureOption | None = typer.Option(
        None,
        "--captures",
        help="With --from/--to: evaluate all runs of the period, or the last of each day "
        "(default AUDITPACK_PERIOD_CAPTURES).",
    ),
    account: list[str] = typer.Option([], "--account", help="Limit the packet to this account (repeatable)."),
    out_pdf: Path | None = typer.Option(
        None, "--out", help="Where to write the PDF (default: ./auditpack-F-DATE.pdf)."
    ),
    bundle: Path | None = typer.Option(None, "--bundle", help="Also write the evidence bundle zip here."),
    force: bool = typer.Option(False, "--force", help="Replace existing files at --out/--bundle."),
    output: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
) -> None:
    """Evaluate stored evidence for one framework and write a signed PDF packet (and bundle) anyone can verify."""
    # imported here: evaluation, the store and SQLAlchemy load for this command, not for every CLI start-up
    from auditpack.packets import Window, make_packet
    from auditpack.settings import load_settings
    from auditpack.wiring import open_store
    from frameworks.asof import parse_day

    if (date_from is None) != (date_to is None):
        raise InputError("--from and --to go together: give both to cover a period")
    if as_of is not None and date_from is not None:
        raise InputError("give either --as-of or --from/--to, not both")
    if captures is not None and date_from is None:
        raise InputError("--captures chooses the runs of a period: give --from and --to too")
    period = (
        (parse_day(date_from, option="--from"), parse_day(date_to, option="--to")) if date_from and date_to else None
    )
    window = Window.of(as_of=parse_day(as_of) if as_of else None, period=period)
    settings = load_settings()
    target = out_pdf or _default_out(framework, window)
    _refuse_overwrite(target, force)
    _refuse_overwrite(bundle, force)
    store = open_store(settings)
    with err.status(f"building the {framework} packet (evaluating, rendering, signing)…"):
        result, status = make_packet(
            settings,
            store,
            framework=framework,
            window=window,
            accounts=account,
            out_pdf=target.resolve(),
            out_bundle=bundle.resolve() if bundle else None,
            packet_id=str(uuid.uuid4()),
            generated_by=f"{getpass.getuser()} (auditpack packet)",
            captures=captures.value if captures is not None else None,
        )
    if result.self_signed:
        err.print(
            "[yellow]warning:[/yellow] signed with auditpack's self-signed local CA (first use / demo only); "
            "configure AUDITPACK_SIGNING_KEY or AUDITPACK_SIGNING_KMS_KEY_ID for packets auditors rely on",
            highlight=False,
        )
    for warning in status.warnings:
        err.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    summary = {
        "packet_id": result.packet_id,
        "framework": status.framework_id,
        "as_of": status.as_of.isoformat(),
        "runs": [run.id for run in status.runs],
        "pdf": str(result.pdf_path),
        "pdf_sha256": result.pdf_sha256,
        "pdf_bytes": result.pdf_size,
        "pages": result.pages,
        "bundle": str(result.bundle_path) if result.bundle_path else None,
        "bundle_sha256": result.bundle_sha256,
        "signer": result.signer_identity,
        "signer_fingerprint": result.signer_fingerprint,
        "self_signed": result.self_signed,
        "controls_by_status": status.by_status,
        "gaps": status.gap_count,
    }
    if output is OutputFormat.json:
        print_json(summary)
        return
    by_status = ", ".join(f"{count} {name}" for name, count in status.by_status.items())
    out.print(f"[bold]{status.name} {status.version}[/bold] packet {result.packet_id}")
    out.print(f"  controls: {by_status}; gaps: {status.gap_count}")
    out.print(f"  PDF:    {result.pdf_path} ({result.pages} pages, sha256 {result.pdf_sha256})")
    if result.bundle_path:
        out.print(f"  bundle: {result.bundle_path} (sha256 {result.bundle_sha256})")
    out.print(f"  signed by {result.signer_identity}")
    out.print(f"verify it: auditpack verify {result.pdf_path}")
