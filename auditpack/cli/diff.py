"""`auditpack diff`: what changed between two captures, and who changed it.

Heavy imports (SQLAlchemy, the store, the frameworks) happen inside the command, so `auditpack --help` stays fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import typer

from auditpack.cli.output import OutputFormat

if TYPE_CHECKING:
    from auditpack.drift import FrameworkDrift
    from evidence.diff.engine import RunDiff
    from evidence.diff.types import DiffTally, ResourceDiff

_CHANGE_COLOUR = {"added": "green", "removed": "red", "changed": "yellow", "unread": "magenta", "unchanged": "dim"}
_ITEM_WORDS = {"unread_before": "not read in the older run (a gap)", "unread_now": "not read now (a gap)"}
_FINDING_SECTIONS = (
    ("newly_failing", "Newly failing", "red"),
    ("resolved", "Resolved", "green"),
    ("unverified", "Failing before, not verified now (error or not evaluated)", "magenta"),
    ("still_failing", "Still failing", "yellow"),
)


def diff(
    from_run: int | None = typer.Option(None, "--from", help="The older run (default: the run before --to)."),
    to_run: int | None = typer.Option(None, "--to", help="The newer run (default: the latest complete or partial)."),
    framework: list[str] = typer.Option(
        [], "--framework", help="Compare control status for this framework; repeat for several (default: all)."
    ),
    output: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
    limit: int = typer.Option(50, "--limit", min=1, max=100_000, help="Table: rows shown per section."),
) -> None:
    """Compare two sealed runs (default: the two latest complete or partial): findings newly failing, resolved and
    still failing; resources added, removed and changed, field by field; who changed them (CloudTrail, as the newer
    run recorded it); control status changes per framework, with the exceptions and evidence that lapsed between.
    """
    from auditpack.drift import catalogs_for, choose_runs, ensure_evaluated, framework_drift
    from auditpack.settings import load_settings
    from auditpack.wiring import open_store
    from evidence.diff.engine import RunDiff
    from evidence.diff.types import DiffTally

    settings = load_settings()
    store = open_store(settings)
    catalogs = catalogs_for(settings, framework)  # an unknown framework is refused before any work
    before, after = choose_runs(store, from_run, to_run)
    ensure_evaluated(settings, store, before, after)
    check_ids = None
    if framework:
        check_ids = {check.id for catalog in catalogs for control in catalog.controls for check in control.checks}
    run_diff = RunDiff.open(store, before.id, after.id, check_ids=check_ids)
    tally = DiffTally()
    resources = (tally.observe(resource) for resource in run_diff.resources())
    if output is OutputFormat.json:
        _stream_json(run_diff, resources, tally, lambda: framework_drift(settings, store, catalogs, before, after))
        return
    _print_tables(run_diff, resources, tally, limit)
    _print_frameworks(framework_drift(settings, store, catalogs, before, after), limit)


# -- JSON: streamed, so a diff of a million resources is never held whole -------------------------------------------


def _stream_json(run_diff: RunDiff, resources: Iterator[ResourceDiff], tally: DiffTally, drift: Any) -> None:
    from evidence.diff.jsonable import resource_json, run_json

    write = sys.stdout.write
    header = {
        "from_run": run_json(run_diff.before),
        "to_run": run_json(run_diff.after),
        "findings_compared": run_diff.findings_compared,
        "places_only_in_from": [{"account_id": a, "region": r} for a, r in run_diff.places_only_before],
        "places_only_in_to": [{"account_id": a, "region": r} for a, r in run_diff.places_only_after],
    }
    write(json.dumps(header, ensure_ascii=False)[:-1] + ', "resources": [')
    for index, resource in enumerate(resources):
        write(("," if index else "") + "\n  " + json.dumps(resource_json(resource), ensure_ascii=False, default=str))
    write("\n]")
    frameworks = [_framework_json(entry) for entry in drift()]
    write(", " + json.dumps({"summary": tally.as_dict(), "frameworks": frameworks}, default=str)[1:] + "\n")


def _framework_json(entry: FrameworkDrift) -> dict[str, Any]:
    from core.canonical import rfc3339

    return {
        "framework": entry.framework_id,
        "name": entry.name,
        "compared": entry.compared,
        "note": entry.note,
        "control_changes": [
            {
                "control_id": c.control_id,
                "title": c.title,
                "before": c.before.value,
                "after": c.after.value,
                "reason": c.reason,
                "causes": list(c.causes),
            }
            for c in entry.changes
        ],
        "customer_changes": [
            {
                "kind": c.kind,
                "id": c.id,
                "title": c.title,
                "event": c.event,
                "at": rfc3339(c.at),
                "actor": c.actor,
                "controls": list(c.controls),
            }
            for c in entry.customer
        ],
    }


# -- tables ----------------------------------------------------------------------------------------------------------


def _actor(resource: ResourceDiff) -> str:
    lookup = resource.lookup
    if lookup is None:
        return ""
    if lookup.status == "failed":
        return f"lookup failed ({lookup.message})"
    if lookup.status == "not_looked_up":
        return lookup.message or "not looked up"
    if not lookup.actors:
        note = "no write event found in CloudTrail"
        return note + (
            f" (none before {lookup.unavailable_before} can be looked up)" if lookup.unavailable_before else ""
        )
    return ", ".join(lookup.actors)


def _print_tables(run_diff: RunDiff, resources: Iterator[ResourceDiff], tally: DiffTally, limit: int) -> None:
    from rich.markup import escape
    from rich.table import Table

    from auditpack.cli.output import err, out

    before, after = run_diff.before, run_diff.after
    out.print(
        f"[bold]run {before.id}[/bold] ({before.status}, {before.finished_at:%Y-%m-%d %H:%M} UTC) -> "
        f"[bold]run {after.id}[/bold] ({after.status}, {after.finished_at:%Y-%m-%d %H:%M} UTC)",
        highlight=False,
    )
    findings: dict[str, list[tuple[ResourceDiff, Any]]] = {key: [] for key, _, _ in _FINDING_SECTIONS}
    changed = Table(title="Resources added, removed and changed", show_lines=True)
    for column in ("change", "account", "region"):
        changed.add_column(column, no_wrap=True)
    changed.add_column("resource", overflow="fold")
    changed.add_column("what changed", overflow="fold")
    changed.add_column("changed by (CloudTrail)", overflow="fold")
    shown = 0
    for resource in resources:
        for change in resource.findings:
            bucket = findings[change.change.value]
            if len(bucket) < limit:
                bucket.append((resource, change))
        if resource.change.value == "unchanged" or shown >= limit:
            continue
        shown += 1
        colour = _CHANGE_COLOUR[resource.change.value]
        what = "\n".join(
            f"{kind.kind}: {_ITEM_WORDS.get(kind.change.value, kind.change.value)}"
            + "".join(f"\n  {line}" for line in kind.lines)
            for kind in resource.kinds
        )
        changed.add_row(
            f"[{colour}]{resource.change.value}[/{colour}]",
            resource.account_id,
            resource.region,
            escape(resource.resource_id),
            escape(what),
            escape(_actor(resource)),
        )
    for key, title, colour in _FINDING_SECTIONS:
        count = tally.findings.get(key, 0)
        if not count:
            continue
        table = Table(title=f"{title}: {count}", title_style=colour)
        for column in ("check", "account", "region"):
            table.add_column(column, no_wrap=True)
        table.add_column("resource", overflow="fold")
        table.add_column("reason", overflow="fold")
        if key == "newly_failing":
            table.add_column("changed by (CloudTrail)", overflow="fold")
        for resource, change in findings[key]:
            row = [change.check_id, resource.account_id, resource.region, escape(resource.resource_id)]
            row.append(escape(change.reason))
            if key == "newly_failing":
                row.append(escape(_actor(resource)))
            table.add_row(*row)
        out.print(table)
        if count > limit:
            err.print(f"  … and {count - limit} more (--limit, or --format json for all)")
    if shown:
        out.print(changed)
    total = sum(tally.resources.values())
    if total > shown:
        err.print(f"  … and {total - shown} more changed resources (--limit, or --format json for all)")
    counts = tally.as_dict()
    out.print(
        "resources: "
        + ", ".join(f"{n} {k}" for k, n in counts["resources"].items())
        + "; findings: "
        + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts["findings"].items())
        + ("" if run_diff.findings_compared else " (not compared: a run has no findings)"),
        highlight=False,
    )
    if run_diff.places_only_before:
        listed = ", ".join(f"{a}/{r}" for a, r in run_diff.places_only_before)
        err.print(f"[yellow]collected in run {before.id} only (not compared):[/yellow] {listed}", highlight=False)
    if run_diff.places_only_after:
        listed = ", ".join(f"{a}/{r}" for a, r in run_diff.places_only_after)
        err.print(f"[yellow]collected in run {after.id} only (not compared):[/yellow] {listed}", highlight=False)


def _print_frameworks(drift: list[FrameworkDrift], limit: int) -> None:
    from rich.markup import escape
    from rich.table import Table

    from auditpack.cli.output import err, out

    for entry in drift:
        if not entry.compared:
            err.print(f"{entry.name}: not compared: {entry.note}", highlight=False)
            continue
        if not entry.changes and not entry.customer:
            out.print(f"{entry.name}: no control changed status", highlight=False)
            continue
        if entry.changes:
            table = Table(title=f"{entry.name}: control status changes ({len(entry.changes)})")
            table.add_column("control", no_wrap=True)
            table.add_column("before", no_wrap=True)
            table.add_column("after", no_wrap=True)
            table.add_column("why", overflow="fold")
            for change in entry.changes[:limit]:
                table.add_row(
                    escape(change.control_id),
                    change.before.value,
                    change.after.value,
                    escape("; ".join(change.causes) or change.reason),
                )
            out.print(table)
        if entry.customer:
            table = Table(title=f"{entry.name}: customer evidence and exceptions ({len(entry.customer)})")
            for column in ("at", "what", "event", "by"):
                table.add_column(column, overflow="fold")
            for event in entry.customer[:limit]:
                table.add_row(
                    f"{event.at:%Y-%m-%d %H:%M}",
                    escape(f"{event.kind} {event.id} ({event.title})"),
                    event.event,
                    escape(event.actor or ""),
                )
            out.print(table)
