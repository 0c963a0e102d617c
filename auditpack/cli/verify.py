"""`auditpack verify`: the evidence store's hash chain, or a packet PDF / bundle zip."""

from __future__ import annotations

from pathlib import Path

import typer

from auditpack.cli.output import OutputFormat, err, out, print_json
from auditpack.settings import load_settings
from auditpack.wiring import open_store
from evidence.verification import StoreVerification, verify_store


def verify(
    file: Path | None = typer.Argument(None, help="A packet PDF or bundle zip to verify.", show_default=False),
    store: bool = typer.Option(False, "--store", help="Verify every blob, row and run digest of the evidence store."),
    output: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
) -> None:
    """Check that stored evidence or a packet is intact and valid: exit 0 if so, 1 saying exactly what failed."""
    if store == (file is not None):
        raise typer.BadParameter("give either FILE or --store")
    if store:
        result = verify_store(open_store(load_settings(), recover=False).engine)
        _report_store(result, output)
        raise typer.Exit(0 if result.intact else 1)
    raise typer.BadParameter("packet verification is not part of this build yet")


def _report_store(result: StoreVerification, output: OutputFormat) -> None:
    if output is OutputFormat.json:
        print_json(
            {
                "intact": result.intact,
                "runs_checked": result.runs_checked,
                "evidence_checked": result.evidence_checked,
                "gaps_checked": result.gaps_checked,
                "blobs_checked": result.blobs_checked,
                "head_digest": result.head_digest,
                "unsealed_runs": list(result.unsealed_runs),
                "problems": [{"run_id": p.run_id, "row": p.row, "problem": p.problem} for p in result.problems],
            }
        )
        return
    summary = (
        f"{result.runs_checked} runs, {result.evidence_checked} evidence rows, {result.gaps_checked} gaps, "
        f"{result.blobs_checked} blobs checked"
    )
    if result.intact:
        out.print(f"[green]store intact[/green]: {summary}; chain head {result.head_digest or '(empty)'}")
        if result.unsealed_runs:
            out.print(f"runs still running (not sealed yet): {', '.join(map(str, result.unsealed_runs))}")
        return
    first = result.problems[0]
    err.print(f"[red]store verification FAILED[/red] at {first}", highlight=False)
    for problem in result.problems[1:20]:
        err.print(f"  also: {problem}", highlight=False)
    if len(result.problems) > 20:
        err.print(f"  … and {len(result.problems) - 20} more problems")
    err.print(summary)
