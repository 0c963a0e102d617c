"""`auditpack status`: every control's overall status and its two axes (automated result, customer evidence) from
the latest usable evidence at or before a date, or over a period (every capture: `frameworks.operation`). The JSON
shape is `frameworks.render.status_to_dict` (plus `frameworks.period_render` for a period)
(docs/frameworks.md); the statuses are computed in `frameworks`, only printed here."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from auditpack.cli.output import CaptureOption, OutputFormat, err, out, print_json
from core.errors import InputError

if TYPE_CHECKING:
    from auditpack.settings import Settings
    from frameworks.operation import PeriodOperation
    from frameworks.results import ControlResult, ExpiringRef, FrameworkStatus
    from frameworks.schema import Catalog


def status(
    framework: str = typer.Option(..., "--framework", help="Framework id: hipaa, pci-dss, soc2 or a user catalog."),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="YYYY-MM-DD: use the latest complete or partial run finished by the end of that day (UTC).",
    ),
    date_from: str | None = typer.Option(
        None, "--from", help="YYYY-MM-DD: with --to, every capture of the period: each control's history."
    ),
    date_to: str | None = typer.Option(None, "--to", help="YYYY-MM-DD: the period's last day (UTC), with --from."),
    captures: CaptureOption | None = typer.Option(
        None,
        "--captures",
        help="With --from/--to: all runs, or the last of each day (default AUDITPACK_PERIOD_CAPTURES).",
    ),
    scope: list[str] = typer.Option(
        [], "--scope", help="Scope to evaluate (repeatable), e.g. availability or A1; overrides AUDITPACK_SCOPES."
    ),
    output: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
) -> None:
    """Print every control's overall status (met, not_met, excepted, evidence_needed, incomplete, inherited,
    not_applicable) with its automated result, customer evidence (item ids) and exceptions applied. With --from
    and --to: every capture of the period evaluated, and per control its history and operation (failures,
    streaks, remediation times, uncovered days)."""
    if (date_from is None) != (date_to is None):
        raise InputError("--from and --to go together: give both to cover a period")
    if as_of is not None and date_from is not None:
        raise InputError("give either --as-of or --from/--to, not both")
    if captures is not None and date_from is None:
        raise InputError("--captures chooses the runs of a period: give --from and --to too")
    # imported here: evaluation, the store and SQLAlchemy load for this command, not for every CLI start-up
    from auditpack import wiring
    from auditpack.settings import load_settings
    from frameworks.asof import end_of_day, parse_day
    from frameworks.render import status_to_dict

    settings = load_settings()
    catalog = wiring.load_framework_catalog(settings, framework)
    if date_from is not None and date_to is not None:
        first, last = parse_day(date_from, option="--from"), parse_day(date_to, option="--to")
        if first > last:
            raise InputError(f"--from {first.isoformat()} is after --to {last.isoformat()}")
        since = datetime.combine(first, time.min, tzinfo=UTC)
        _period(settings, catalog, since, end_of_day(last), captures, scope, output)
        return
    moment = end_of_day(parse_day(as_of)) if as_of is not None else datetime.now(UTC)
    result = wiring.framework_status(settings, wiring.open_store(settings), catalog, as_of=moment, scopes=scope)
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    if output is OutputFormat.json:
        print_json(status_to_dict(result))
        return
    _print_table(result)


def _period(
    settings: Settings,
    catalog: Catalog,
    since: datetime,
    until: datetime,
    captures: CaptureOption | None,
    scope: list[str],
    output: OutputFormat,
) -> None:
    """`status --from --to`: the status at the period's end (its newest run) with every control's history."""
    from auditpack import wiring
    from frameworks.period_render import controls_to_dicts, period_to_dict
    from frameworks.render import status_to_dict

    store = wiring.open_store(settings)
    result = wiring.framework_status(settings, store, catalog, as_of=until, since=since, scopes=scope)
    period = wiring.period_operation(
        settings, store, catalog, since=since, until=until, captures=captures.value if captures else None, scopes=scope
    )
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    if output is OutputFormat.json:
        data = status_to_dict(result)
        data["period"] = period_to_dict(period)
        over_period = controls_to_dicts(period, encoded=True)
        for control in data["controls"]:
            control.update(over_period[control["id"]])
        print_json(data, compact=True)  # a year of history is over 100,000 entries: one line, not indented
        return
    _print_period(period)


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment is not None else ""


def _print_period(period: PeriodOperation) -> None:
    from frameworks.period_render import duration_text, operation_sentence

    history = period.history
    out.print(
        f"[bold]{history.name}[/bold] ({history.framework_id}) from {history.since:%Y-%m-%d} to "
        f"{history.until:%Y-%m-%d}: {len(history.captures)} capture(s) ({history.selection.value}) over "
        f"{len(period.days)} day(s)"
    )
    table = Table(
        "id", "title", "captures", "met", "failed", "excepted", "incomplete", "streak", "failing", "uncovered"
    )
    for column in (0, 2, 3, 4, 5, 6, 7, 8, 9):  # figures never truncated; the title wraps
        table.columns[column].no_wrap = True
    table.columns[0].min_width = max(len(c.control_id) + (2 if c.info.parent_id else 0) for c in period.controls)
    for control in period.controls:
        indent = "  " if control.info.parent_id else ""
        streak = control.longest_failing_streak_days
        failing = (
            f"{control.first_failure:%Y-%m-%d} to {control.last_failure:%Y-%m-%d}"
            if control.first_failure and control.last_failure
            else ""
        )
        table.add_row(
            f"{indent}{control.control_id}",
            control.info.title,
            str(control.captures),
            str(control.met),
            f"[red]{control.failed}[/]" if control.failed else "0",
            str(control.excepted),
            str(control.incomplete),
            f"{streak} d" if streak else "",
            failing,
            f"{len(control.uncovered_days)} d" if control.uncovered_days else "",
        )
    out.print(table)
    for control in period.failed_requirements():
        for failure in control.failures:
            fixed = (
                f"remediated {_when(failure.remediated_at)} (run {failure.remediated_run_id}), "
                f"{duration_text(failure.time_to_remediation)} after it first failed"
                if failure.time_to_remediation is not None
                else "not remediated by the period's end"
            )
            out.print(
                f"  {control.control_id}: failing from {_when(failure.first_failed_at)} (run {failure.first_run_id}) "
                f"to {_when(failure.last_failed_at)} (run {failure.last_run_id}), "
                f"{failure.streak_days} day(s); {fixed}",
                highlight=False,
            )
    if period.days_without_capture:
        days = ", ".join(day.isoformat() for day in period.days_without_capture)
        out.print(f"days without a capture: {days}", highlight=False)
    for run in history.unusable:
        out.print(f"run {run.id} ended {run.status} at {_when(run.finished_at)}: not a capture", highlight=False)
    out.print(operation_sentence(period), highlight=False)


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
