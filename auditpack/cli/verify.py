"""`auditpack verify`: the evidence store's hash chain, or a packet PDF / bundle zip."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from auditpack.cli.output import OutputFormat, err, out, print_json
from auditpack.data_dir import configured_data_dir

if TYPE_CHECKING:
    from evidence.verification import StoreVerification
    from reports.verify import PacketVerification


def verify(
    file: Path | None = typer.Argument(None, help="A packet PDF or bundle zip to verify.", show_default=False),
    store: bool = typer.Option(False, "--store", help="Verify every blob, row and run digest of the evidence store."),
    trust: list[Path] = typer.Option(
        [],
        "--trust",
        help="PEM/DER CA certificate(s) to trust as roots (repeatable). The local CA in AUDITPACK_DATA_DIR is "
        "trusted too, when one was generated.",
        show_default=False,
    ),
    expected_head: str | None = typer.Option(
        None,
        "--expected-head",
        help="With --store: a chain head digest recorded earlier (verify --store prints it); fail unless the chain "
        "still holds it, which exposes the newest runs being deleted.",
        show_default=False,
    ),
    expected_ledger_head: str | None = typer.Option(
        None,
        "--expected-ledger-head",
        help="With --store: a customer ledger head digest recorded earlier (verify --store prints it); fail unless "
        "the ledger still holds it, which exposes the newest customer evidence, exceptions or reviews being deleted.",
        show_default=False,
    ),
    against: Path | None = typer.Option(
        None,
        "--against",
        help="With --store: a packet PDF or bundle; verify it, then fail unless the store still holds the runs, "
        "chain head and findings that packet saw.",
        show_default=False,
    ),
    runs: list[int] = typer.Option(
        [],
        "--run",
        help="With --store and an S3 blob store (AUDITPACK_BLOB_STORE): read back only the objects of these runs "
        "(repeatable; default every object). Rows, digests and the chain are always checked whole.",
        show_default=False,
    ),
    output: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
) -> None:
    """Check that stored evidence or a packet is intact and valid, saying exactly what failed.

    Exit codes:
    0  intact, valid, trusted and complete;
    1  verification failed: the file is not what was signed, whatever the reason (altered, truncated, damaged,
       duplicate or unlisted zip entries, data outside them, not a packet at all, a signer not trusted), or the
       store's hash chain is broken;
    2  bad usage: no such file, a directory or unreadable path, an unreadable --trust file, bad options.
    """
    if store == (file is not None):
        raise typer.BadParameter("give either FILE or --store")
    if not store and (expected_head is not None or expected_ledger_head is not None or against is not None):
        raise typer.BadParameter("--expected-head, --expected-ledger-head and --against go with --store")
    if not store and runs:
        raise typer.BadParameter("--run goes with --store")
    for name, value in (("--expected-head", expected_head), ("--expected-ledger-head", expected_ledger_head)):
        if value is not None and not _is_digest(value):
            raise typer.BadParameter(f"{name} {value!r}: expected a 64-character hex SHA-256 digest")
    # imported here: pyHanko and the verifiers load only for this command, not for every CLI start-up
    import logging

    from reports.localca import local_ca_certificate
    from reports.verify import verify_file

    # A file is verified with the data directory's local CA and nothing else from the settings: loading them all
    # would import pydantic-settings and SQLAlchemy, and fail on variables a file check never uses.
    settings = None
    if store:
        from auditpack.settings import load_settings

        settings = load_settings()
    roots: list[Path] = list(trust)
    local = local_ca_certificate(settings.data_dir if settings else configured_data_dir())
    if local is not None:
        roots.append(local)
    # pyHanko logs path-building failures with tracebacks; the result already says what failed.
    for name in ("pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(name).addHandler(logging.NullHandler())
    if settings is not None:
        from auditpack.wiring import open_store
        from evidence.verification import verify_store

        manifest = None
        if against is not None:
            # The manifest is evidence of what the store held only if the packet's signature holds.
            packet = verify_file(against, trust=roots)
            if not packet.ok or packet.manifest is None:
                _report_packet(packet, roots, output)
                raise typer.Exit(1)
            manifest = packet.manifest
        result = verify_store(
            open_store(settings, recover=False).engine,
            expected_head=expected_head,
            against=manifest,
            expected_ledger_head=expected_ledger_head,
            run_ids=runs or None,
        )
        _report_store(result, output)
        raise typer.Exit(0 if result.intact else 1)
    assert file is not None
    packet = verify_file(file, trust=roots)
    _report_packet(packet, roots, output)
    raise typer.Exit(0 if packet.ok else 1)


def _is_digest(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def _report_packet(result: PacketVerification, roots: list[Path], output: OutputFormat) -> None:
    if output is OutputFormat.json:
        print_json(
            {
                "ok": result.ok,
                "path": str(result.path),
                "kind": result.kind,
                "intact": result.intact,
                "valid": result.valid,
                "trusted": result.trusted,
                "covers_whole_file": result.covers_whole_file,
                "files_checked": list(result.files_checked),
                "evidence_checked": result.evidence_checked,
                "signer": result.signer,
                "signer_fingerprint": result.signer_fingerprint,
                "signed_at": result.signed_at.isoformat() if result.signed_at else None,
                "timestamp": result.timestamp.isoformat() if result.timestamp else None,
                "packet_id": result.packet_id,
                "trust_roots": [str(r) for r in roots],
                "problems": list(result.problems),
                "warnings": list(result.warnings),
            }
        )
        return
    what = "bundle" if result.kind == "bundle" else "packet"
    summary = (
        f"{len(result.files_checked)} file(s) and {result.evidence_checked:,} evidence payload(s) checked; "
        f"signer {result.signer or 'none'}"
    )
    if result.ok:
        out.print(
            f"[green]{what} verified[/green]: {escape(f'{result.path} (packet {result.packet_id})')}", highlight=False
        )
        out.print(
            escape(f"signature intact and valid, covers the whole file, signer trusted; {summary}"), highlight=False
        )
    else:
        err.print(f"[red]{what} verification FAILED[/red]: {escape(str(result.path))}", highlight=False)
        for problem in result.problems:  # problems quote names from the file itself: never read them as markup
            err.print(f"  - {escape(problem)}", highlight=False)
        flags = (
            f"intact={result.intact} valid={result.valid} trusted={result.trusted} "
            f"covers_whole_file={result.covers_whole_file}"
        )
        err.print(escape(f"{flags}; {summary}"), highlight=False)
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)


def _report_store(result: StoreVerification, output: OutputFormat) -> None:
    if output is OutputFormat.json:
        print_json(
            {
                "intact": result.intact,
                "runs_checked": result.runs_checked,
                "evidence_checked": result.evidence_checked,
                "gaps_checked": result.gaps_checked,
                "blobs_checked": result.blobs_checked,
                "objects_in": result.objects_in,
                "head_digest": result.head_digest,
                "head_seq": result.head_seq,
                "findings_checked": result.findings_checked,
                "findings_not_rederived": list(result.findings_not_rederived),
                "unsealed_runs": list(result.unsealed_runs),
                "customer": _customer_counts(result),
                "ledger_head_seq": result.ledger_head.seq if result.ledger_head else None,
                "ledger_head_digest": result.ledger_head.digest if result.ledger_head else None,
                "problems": [{"run_id": p.run_id, "row": p.row, "problem": p.problem} for p in result.problems],
            }
        )
        return
    customer = _customer_counts(result)
    summary = (
        f"{result.runs_checked} runs, {result.evidence_checked} evidence rows, {result.gaps_checked} gaps, "
        f"{result.blobs_checked} blobs{f' (objects read back from {result.objects_in})' if result.objects_in else ''}, "
        f"{result.findings_checked} findings checked; customer evidence: "
        f"{customer['items']} items, {customer['exceptions']} exceptions, {customer['events']} review events, "
        f"{customer['contents']} contents"
    )
    if result.intact:
        out.print(f"[green]store intact[/green]: {summary}", highlight=False)
        if result.head_digest:
            out.print(f"chain head: run #{result.head_seq} in the chain, digest {result.head_digest}", highlight=False)
            out.print(
                f"record it, and later check nothing was deleted: auditpack verify --store --expected-head "
                f"{result.head_digest}",
                highlight=False,
            )
        else:
            out.print("chain head: (empty: no sealed run yet)")
        ledger = result.ledger_head
        if ledger is not None:
            out.print(f"customer ledger head: entry #{ledger.seq}, digest {ledger.digest}", highlight=False)
            out.print(f"record it too: --expected-ledger-head {ledger.digest}", highlight=False)
        if result.unsealed_runs:
            out.print(f"runs still running (not sealed yet): {', '.join(map(str, result.unsealed_runs))}")
        if result.findings_not_rederived:
            ids = ", ".join(map(str, result.findings_not_rederived))
            out.print(
                f"findings of runs {ids} come from earlier check code: checked against their digest, not re-derived "
                "(`auditpack findings --reevaluate --run N` re-derives them)",
                highlight=False,
            )
        return
    first = result.problems[0]
    err.print(f"[red]store verification FAILED[/red] at {first}", highlight=False)
    for problem in result.problems[1:20]:
        err.print(f"  also: {problem}", highlight=False)
    if len(result.problems) > 20:
        err.print(f"  … and {len(result.problems) - 20} more problems")
    err.print(summary)


def _customer_counts(result: StoreVerification) -> dict[str, int]:
    customer = result.customer
    return {
        "items": customer.items_checked if customer else 0,
        "exceptions": customer.exceptions_checked if customer else 0,
        "events": customer.events_checked if customer else 0,
        "contents": customer.contents_checked if customer else 0,
    }
