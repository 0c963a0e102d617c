"""`auditpack status`: every control's overall status and its two axes (automated result, customer evidence) from
the latest usable evidence at or before a date. The JSON shape is `frameworks.render.status_to_dict`
(docs/frameworks.md); the statuses are computed in `frameworks`, only printed here."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from auditpack.cli.output import OutputFormat, err, out, print_json

if TYPE_CHECKING:
    from frameworks.results import ControlResult, ExpiringRef, FrameworkStatus


def status(
    framework: str = typer.Option(..., "--framework", help="Framework id: hipaa, pci-dss, soc2 or a user catalog."),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="YYYY-MM-DD: use the latest complete or partial run finished by the end of that day (UTC).",
    ),
    scope: list[str] = typer.Option(
        [], "--scope", help="Scope to evaluate (repeatable), e.g. availability or A1; overrides AUDITPACK_SCOPES."
    ),
    output: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
) -> None:
    """Print every control's overall status (met, not_met, excepted, evidence_needed, incomplete, inherited,
    not_applicable) with its automated result, customer evidence (item ids) and exceptions applied."""
    # imported here: evaluation, the store and SQLAlchemy load for this command, not for every CLI start-up
    from auditpack import wiring
    from auditpack.settings import load_settings
    from frameworks.asof import end_of_day, parse_day
    from frameworks.render import status_to_dict

    settings = load_settings()
    moment = end_of_day(parse_day(as_of)) if as_of is not None else datetime.now(UTC)
    catalog = wiring.load_framework_catalogs(settings).get(framework)
    result = wiring.framework_status(settings, wiring.open_store(settings), catalog, as_of=moment, scopes=scope)
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    if output is OutputFormat.json:
        print_json(status_to_dict(result))
        return
    _print_table(result)


def _responsibility(result: ControlResult) -> str:
    detail = ", ".join(f"{service} {value.value}" for service, value in result.responsibility.items())
    return f"{result.overall_responsibility.value} ({detail})" if detail else result.overall_responsibility.value


def _evidence(control: ControlResult) -> str:
    """The customer evidence axis with the item ids behind it, and what to supply while it is not approved."""
    from frameworks.results import OverallStatus

    parts = [control.evidence.value]
    for label, ids in (
        ("items", control.evidence_items),
        ("submitted", control.evidence_submitted),
        ("expired", control.evidence_expired),
    ):
        if ids:
            parts.append(f"{label} {', '.join(str(i) for i in ids)}")
    text = "; ".join(parts)
    if control.expected_evidence and control.status is OverallStatus.EVIDENCE_NEEDED and not control.heading:
        text += f"; expected: {control.expected_evidence}"
    return text


def _expiring(refs: tuple[ExpiringRef, ...], noun: str) -> None:
    for ref in refs:
        out.print(
            f"  {noun} {ref.id} ({ref.title}) expires {ref.expires_at:%Y-%m-%d}: {', '.join(ref.controls)}",
            highlight=False,
        )


def _print_table(result: FrameworkStatus) -> None:
    from frameworks.results import OverallStatus

    style = {
        OverallStatus.MET: "green",
        OverallStatus.NOT_MET: "red",
        OverallStatus.EXCEPTED: "magenta",
        OverallStatus.EVIDENCE_NEEDED: "cyan",
        OverallStatus.INCOMPLETE: "yellow",
        OverallStatus.INHERITED: "blue",
        OverallStatus.NOT_APPLICABLE: "dim",
    }
    runs = ", ".join(f"run {run.id} ({run.status}, finished {run.finished_at})" for run in result.runs) or "no run"
    out.print(f"[bold]{result.name}[/bold] ({result.framework_id}) as of {result.as_of.isoformat()}: {runs}")
    out.print(
        f"services in use: {', '.join(result.matrix.services) or 'none found'}; "
        f"scopes: {', '.join(sorted(result.scopes)) or 'none'}; freshness window {result.freshness_hours} h"
    )
    table = Table(
        "id",
        "title",
        "automation",
        "responsibility",
        "status",
        "automated",
        "customer evidence",
        "exceptions",
        "pass/fail",
        "checks",
    )
    for column in (0, 2, 4, 5, 8):  # id, automation, statuses, counts: never truncated; the prose columns wrap
        table.columns[column].no_wrap = True
    table.columns[0].min_width = max(len(c.control_id) + (2 if c.parent_id else 0) for c in result.controls)
    for control in result.controls:
        indent = "  " if control.parent_id else ""
        table.add_row(
            f"{indent}{control.control_id}",
            control.title,
            f"{control.automation.value}*" if control.heading else control.automation.value,
            _responsibility(control),
            f"[{style[control.status]}]{control.status.value}[/]",
            control.automated.value,
            _evidence(control),
            ", ".join(str(i) for i in control.exceptions),
            f"{control.passed}/{control.failed}" + (f" (+{control.excepted} excepted)" if control.excepted else ""),
            ", ".join(verdict.check_id for verdict in control.checks),
        )
    out.print(table)
    out.print("* heading: automation, responsibility and status roll up from the indented controls below it")
    by_status = ", ".join(f"{count} {name}" for name, count in result.by_status.items())
    by_owner = ", ".join(f"{count} {name}" for name, count in result.by_responsibility.items())
    out.print(f"requirements by status: {by_status}")
    out.print(f"requirements in scope by responsibility: {by_owner}")
    if result.gap_count or result.stale_count:
        out.print(
            f"[yellow]{result.gap_count} gaps and {result.stale_count} stale findings: "
            "affected controls cannot be met[/]"
        )
    if result.expiring_items or result.expiring_exceptions:
        out.print("[bold]expiring within 30 days[/bold] (renew before then):")
        _expiring(result.expiring_items, "item")
        _expiring(result.expiring_exceptions, "exception")
