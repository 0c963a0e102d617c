"""`auditpack access-log export|verify`: the hash-chained log of downloads and auditor requests."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from auditpack.cli.output import OutputFormat, err, out, print_json
from core.errors import InputError

app = typer.Typer(help="The access log: export it, verify its hash chain.", no_args_is_help=True)


@app.command("export")
def export(
    form: str = typer.Option("ndjson", "--format", help="ndjson or csv"),
    out_file: Path = typer.Option(None, "--out", help="Write here instead of standard output."),
) -> None:
    """Write every entry in chain order, with its hash (verifiable with `access-log verify FILE`)."""
    if form not in ("ndjson", "csv"):
        raise InputError(f"unknown export format {form!r}: expected ndjson or csv")
    from api.services import access_log
    from auditpack.settings import load_settings
    from auditpack.wiring import open_store

    records = access_log.iter_records(open_store(load_settings(), recover=False).engine)
    lines = access_log.csv_lines(records) if form == "csv" else access_log.ndjson_lines(records)
    if out_file is None:
        sys.stdout.writelines(lines)
        return
    with out_file.open("w", encoding="utf-8", newline="") as handle:
        handle.writelines(lines)
    err.print(f"access log written to {out_file}")


@app.command("verify")
def verify(
    file: Path = typer.Argument(None, help="An export (.ndjson or .csv); without it, the database is verified."),
    expected_head: str = typer.Option(None, "--expected-head", help="A head hash recorded earlier."),
    output: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
) -> None:
    """Recompute the chain: exit 0 if intact, 1 saying where it breaks."""
    from api.services import access_log

    if file is None:
        from auditpack.settings import load_settings
        from auditpack.wiring import open_store

        result = access_log.verify_database(
            open_store(load_settings(), recover=False).engine, expected_head=expected_head
        )
    else:
        form = "csv" if file.suffix.lower() == ".csv" else "ndjson"
        try:
            with file.open(encoding="utf-8", newline="") as handle:
                result = access_log.verify_entries(
                    access_log.parse_export(handle, form=form), expected_head=expected_head
                )
        except OSError as exc:
            raise InputError(f"cannot read {file}: {exc.strerror or exc}") from None
    if output is OutputFormat.json:
        print_json(
            {
                "intact": result.intact,
                "checked": result.checked,
                "head": result.head,
                "problems": [str(p) for p in result.problems],
            }
        )
    elif result.intact:
        out.print(f"[green]access log intact[/green]: {result.checked} entries; head {result.head or '(empty)'}")
    else:
        err.print(f"[red]access log verification FAILED[/red] at {result.problems[0]}", highlight=False)
        for problem in result.problems[1:20]:
            err.print(f"  also: {problem}", highlight=False)
    raise typer.Exit(0 if result.intact else 1)
