"""`auditpack collect`: read the AWS estate into a new evidence run, then evaluate the checks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

from auditpack.cli.identity import user_at_host
from auditpack.cli.output import OutputFormat, err, out, print_json

if TYPE_CHECKING:
    from auditpack.settings import Settings
    from evidence.models import Gap, Run
    from evidence.store import EvidenceStore

MAX_GAPS_SHOWN = 20


def requester() -> str:
    from evidence.labels import fit_label

    return fit_label(user_at_host())


def collect(
    profile: str | None = typer.Option(None, "--profile", help="AWS profile (default: the standard credential chain)."),
    region: list[str] = typer.Option(
        [], "--region", help="Region to collect; repeat for several (default: all enabled)."
    ),
    org: bool = typer.Option(False, "--org", help="Collect every ACTIVE account of the AWS Organization."),
    role_name: str | None = typer.Option(
        None, "--role-name", help="Role to assume in other accounts (default OrganizationAccountAccessRole)."
    ),
    account: list[str] = typer.Option([], "--account", help="Account id to collect; repeat for several."),
    concurrency: int | None = typer.Option(None, "--concurrency", min=1, max=64, help="Parallel tasks (default 8)."),
    output: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
) -> None:
    """Collect evidence from AWS (one account, listed accounts or the whole Organization) and evaluate the checks.

    Every call that fails after retries (AccessDenied, throttling, a disabled region) is recorded as a gap; the
    run then ends 'partial' and its checks report 'error' for what could not be read.
    """
    # imported here: boto3, SQLAlchemy and the collectors load for this command, not for every CLI start-up
    from auditpack.cli.progress import RichCollectionProgress
    from auditpack.collection import (
        lookups_from_settings,
        owner_map_from_settings,
        scope_from_settings,
        thresholds_from_settings,
    )
    from auditpack.settings import load_settings
    from auditpack.wiring import expiring_soon, open_store
    from core import heap
    from evidence.aws.accounts import CollectionFailed
    from evidence.aws.scope import ScopeError
    from evidence.findings import finding_counts
    from evidence.models import Trigger
    from evidence.orchestrator import collect as run_collection

    if role_name and not (org or account):
        raise ScopeError("--role-name needs --org or --account: it names the role assumed in other accounts")
    settings = load_settings()
    scope = scope_from_settings(
        settings, profile=profile, regions=region, accounts=account, org=org, role_name=role_name
    )
    owners = owner_map_from_settings(settings)
    store = open_store(settings)
    heap.settle()  # thousands of botocore clients ahead: keep the start-up objects out of every collection
    try:
        with RichCollectionProgress(err) as progress:
            run = run_collection(
                store,
                scope,
                trigger=Trigger.CLI,
                requested_by=requester(),
                concurrency=concurrency or settings.concurrency,
                progress=progress,
                thresholds=thresholds_from_settings(settings),
                owner_map=owners,
                changes=lookups_from_settings(settings),
            )
    except CollectionFailed as exc:  # the webhooks hear about a failed capture too, then it fails as before
        _notify(settings, store, exc.run_id, error=exc.message)
        raise
    gaps = store.gaps(run.id)
    counts = finding_counts(store, run.id)
    lapsing = expiring_soon(store)
    if output is OutputFormat.json:
        print_json({**_summary(run, gaps, counts), "expiring_within_30_days": lapsing})
    else:
        _print_summary(run, gaps, counts)
        _print_expiring(lapsing)
    _notify(settings, store, run.id)


def _notify(settings: Settings, store: EvidenceStore, run_id: int | None, *, error: str | None = None) -> None:
    """Tell AUDITPACK_WEBHOOKS how the capture went (after it is sealed); a webhook that fails is a warning on
    stderr and a row of the delivery log, never a failed collect."""
    if not settings.webhooks:
        return
    from api.webhooks.dispatch import summarize
    from auditpack.notify import notify_capture

    deliveries = notify_capture(settings, store, run_id, error=error)
    failed = [d for d in deliveries if d.status != "delivered"]
    colour = "yellow" if failed else "green"
    sent = f"notified {len(deliveries) - len(failed)} of {len(deliveries)} webhook(s)"
    err.print(f"[{colour}]{sent}[/{colour}]: {escape(summarize(deliveries))}", highlight=False)


def _print_expiring(lapsing: dict[str, list[dict[str, Any]]]) -> None:
    """Customer evidence and exceptions to renew: a control stops being met, or excepted findings fail again."""
    for entry in lapsing["items"]:
        err.print(
            f"[yellow]expires {entry['expires_at']}[/yellow]: evidence item {entry['id']} "
            f"{escape(repr(entry['title']))} ({escape(', '.join(entry['controls']))})",
            highlight=False,
        )
    for entry in lapsing["exceptions"]:
        err.print(
            f"[yellow]expires {entry['expires_at']}[/yellow]: exception {entry['id']} ({escape(entry['scope'])})",
            highlight=False,
        )


def _totals(counts: dict[str, dict[str, int]]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for per_status in counts.values():
        for status, count in per_status.items():
            totals[status] = totals.get(status, 0) + count
    return dict(sorted(totals.items()))


def _summary(run: Run, gaps: list[Gap], counts: dict[str, dict[str, int]]) -> dict[str, Any]:
    stats = run.stats or {}
    return {
        "run_id": run.id,
        "status": run.status,
        "evidence": run.evidence_count,
        "gaps": run.gap_count,
        "duration_seconds": stats.get("duration_seconds"),
        "api_calls": stats.get("api_calls"),
        "scopes": stats.get("scopes", []),
        "out_of_scope": stats.get("out_of_scope", {"regions": [], "accounts": []}),
        **({"organization": stats["organization"]} if "organization" in stats else {}),
        "findings": _totals(counts),
        "gap_details": [
            {
                "account_id": g.account_id,
                "region": g.region,
                "operation": f"{g.service}:{g.operation}",
                "error_code": g.error_code,
                "message": g.message,
                "resource_id": g.resource_id,
            }
            for g in gaps
        ],
    }


def _print_summary(run: Run, gaps: list[Gap], counts: dict[str, dict[str, int]]) -> None:
    stats = run.stats or {}
    table = Table(title=f"run {run.id}: {run.status}", show_footer=True)
    table.add_column("account", footer="total")
    table.add_column("region")
    table.add_column("evidence items", justify="right", footer=str(run.evidence_count))
    table.add_column("gaps", justify="right", footer=str(run.gap_count))
    table.add_column("API calls", justify="right", footer=str(stats.get("api_calls", 0)))
    for scope in stats.get("scopes", []):
        gap_text = f"[red]{scope['gaps']}[/red]" if scope["gaps"] else "0"
        table.add_row(scope["account_id"], scope["region"], str(scope["evidence"]), gap_text, str(scope["api_calls"]))
    out.print(table)
    findings = ", ".join(f"{count} {status}" for status, count in _totals(counts).items()) or "none"
    out.print(f"duration {stats.get('duration_seconds', 0):.1f} s; findings: {findings}")
    for line in out_of_scope_lines(stats.get("out_of_scope") or {}):
        out.print(line, highlight=False)
    if gaps:
        err.print(f"[yellow]{len(gaps)} gap(s): evidence that could not be read[/yellow]")
        for gap in gaps[:MAX_GAPS_SHOWN]:
            where = f"{gap.account_id} {gap.region}"
            err.print(f"  {where} {gap.service}:{gap.operation} {gap.error_code}: {gap.message}", highlight=False)
        if len(gaps) > MAX_GAPS_SHOWN:
            err.print(f"  … and {len(gaps) - MAX_GAPS_SHOWN} more (--format json lists them all)")


def out_of_scope_lines(out_of_scope: dict[str, Any]) -> list[str]:
    """What the run left out on purpose, said once: regions not opted in (with how many accounts), accounts of the
    Organization that are not ACTIVE."""
    lines = []
    regions = out_of_scope.get("regions") or []
    if regions:
        listed = ", ".join(f"{r['region']} ({len(r['accounts'])} account(s))" for r in regions)
        lines.append(f"out of scope, not opted in: {listed}")
    accounts = out_of_scope.get("accounts") or []
    if accounts:
        listed = ", ".join(
            f"{a['account_id']}{' ' + escape(str(a['name'])) if a.get('name') else ''} ({a['state']})" for a in accounts
        )
        lines.append(f"out of scope, accounts not ACTIVE: {listed}")
    return lines
