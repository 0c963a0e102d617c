"""`auditpack findings`: the check verdicts of the latest complete or partial run, one per check and resource."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from auditpack.cli.output import OutputFormat, err, out, print_json
from core.errors import InputError, NotFoundError
from evidence.checks.types import FindingStatus

if TYPE_CHECKING:
    from evidence.checks.types import Finding

_COLOURS = {"pass": "green", "fail": "red", "error": "magenta", "not_applicable": "dim"}


def findings(
    check: str | None = typer.Option(None, "--check", help="Only this check id, e.g. s3.default_encryption."),
    status: FindingStatus | None = typer.Option(None, "--status", help="Only this status."),
    account: str | None = typer.Option(None, "--account", help="Only this account id."),
    run_id: int | None = typer.Option(None, "--run", help="A specific run (default: the latest complete or partial)."),
    reevaluate: bool = typer.Option(
        False, "--reevaluate", help="Re-derive the run's findings with the current checks and thresholds first."
    ),
    output: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
) -> None:
    """Show findings: pass, fail, not_applicable, or error where the evidence needed is a gap."""
    # imported here: the checks, the store and SQLAlchemy load for this command, not for every CLI start-up
    from auditpack.collection import thresholds_from_settings
    from auditpack.settings import load_settings
    from auditpack.wiring import open_store
    from evidence.checks.evaluate import evaluate_run
    from evidence.checks.registry import check_ids
    from evidence.findings import has_findings, load_findings, save_findings

    if check is not None and check not in check_ids():
        close = sorted(c for c in check_ids() if c.split(".")[0] == check.split(".")[0]) or sorted(check_ids())
        raise InputError(f"unknown check id {check!r}", hint=f"known ids include: {', '.join(close[:8])}")
    settings = load_settings()
    store = open_store(settings)
    run = store.get_run(run_id) if run_id is not None else store.latest_run()
    if run is None:
        raise NotFoundError("there is no complete or partial run yet", hint="run `auditpack collect` first")
    if reevaluate or not has_findings(store, run.id):
        thresholds = thresholds_from_settings(settings)
        save_findings(store, run.id, evaluate_run(store, run.id, thresholds=thresholds), thresholds=thresholds)
    rows = load_findings(store, run.id, check_id=check, status=status.value if status else None, account_id=account)
    if output is OutputFormat.json:
        print_json([as_json(finding) for finding in rows])
        return
    _print_table(run.id, rows)


def as_json(finding: Finding) -> dict[str, Any]:
    from core.canonical import rfc3339
    from evidence.checks.registry import check_metadata

    meta = check_metadata()[finding.check_id]
    return {
        "check_id": finding.check_id,
        "title": meta.title,
        "severity": meta.severity.value,
        "status": finding.status.value,
        "account_id": finding.account_id,
        "region": finding.region,
        "resource_id": finding.resource_id,
        "resource_type": finding.resource_type,
        "owner": finding.owner,
        "observed_at": rfc3339(finding.observed_at) if finding.observed_at else None,
        "reason": finding.reason,
        "evidence": list(finding.evidence),
    }


def _print_table(run_id: int, rows: list[Finding]) -> None:
    table = Table(title=f"findings of run {run_id}")
    for column in ("check", "status", "account", "region"):
        table.add_column(column, no_wrap=True)
    table.add_column("resource", overflow="fold")
    table.add_column("reason", overflow="fold")
    counts: dict[str, int] = {}
    for finding in rows:
        status = finding.status.value
        counts[status] = counts.get(status, 0) + 1
        colour = _COLOURS.get(status, "white")
        table.add_row(
            finding.check_id,
            f"[{colour}]{status}[/{colour}]",
            finding.account_id,
            finding.region,
            finding.resource_id,
            finding.reason,
        )
    out.print(table)
    err.print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no findings match")
