"""`auditpack notify`: try the capture notifications (`test`) and read their delivery log (`log`).

Imports of the store and the webhook code happen inside the commands, so `auditpack --help` stays fast.
"""

from __future__ import annotations

import typer

from auditpack.cli.output import OutputFormat

app = typer.Typer(
    help="Capture notifications to AUDITPACK_WEBHOOKS: send a test, read the delivery log.", no_args_is_help=True
)


@app.command("test")
def test(output: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json")) -> None:
    """Send a signed sample notification to every webhook of AUDITPACK_WEBHOOKS, with the usual timeout and retries.

    Exits 0 when every webhook accepted it, 1 when one did not, 2 when no webhook is configured.
    """
    from rich.markup import escape

    from auditpack.cli.output import err, out, print_json
    from auditpack.notify import notify_test
    from auditpack.settings import load_settings
    from auditpack.wiring import open_store
    from core.errors import InputError

    settings = load_settings()
    if not settings.webhooks:
        raise InputError(
            "no webhook is configured: set AUDITPACK_WEBHOOKS (comma-separated URLs) and AUDITPACK_WEBHOOK_SECRET",
            hint="docs/drift.md, Notifications",
        )
    deliveries = notify_test(settings, open_store(settings))
    failed = [d for d in deliveries if d.status != "delivered"]
    if output is OutputFormat.json:
        print_json(
            [
                {
                    "delivery_id": d.delivery_id,
                    "target": d.target,
                    "status": d.status,
                    "attempts": d.attempts,
                    "http_status": d.http_status,
                    "error": d.error,
                }
                for d in deliveries
            ]
        )
    else:
        for d in deliveries:
            colour = "green" if d.status == "delivered" else "red"
            detail = f"HTTP {d.http_status}" if d.http_status else ""
            detail += f" {d.error}" if d.error else ""
            out.print(
                f"[{colour}]{d.status}[/{colour}] {escape(d.target)} after {d.attempts} attempt(s) {escape(detail)} "
                f"(delivery {d.delivery_id})",
                highlight=False,
            )
        if failed:
            err.print(f"[red]{len(failed)} of {len(deliveries)} webhook(s) did not accept the notification[/red]")
    if failed:
        raise typer.Exit(1)


@app.command("log")
def log(
    limit: int = typer.Option(20, "--limit", min=1, max=1000, help="Deliveries shown, newest first."),
    output: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
) -> None:
    """The newest notifications sent to webhooks: when, to which host, for which run, and how each attempt ended."""
    from rich.table import Table
    from sqlalchemy import select

    from api.webhooks.models import WebhookDelivery
    from auditpack.cli.output import out, print_json
    from auditpack.settings import load_settings
    from auditpack.wiring import open_store
    from core.canonical import rfc3339

    store = open_store(load_settings())
    with store.sessions() as session:
        rows = list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit)))
    if output is OutputFormat.json:
        print_json(
            [
                {
                    "delivery_id": r.delivery_id,
                    "event": r.event,
                    "run_id": r.run_id,
                    "target": r.target,
                    "status": r.status,
                    "attempts": r.attempts,
                    "http_status": r.http_status,
                    "error": r.error,
                    "created_at": rfc3339(r.created_at),
                    "finished_at": rfc3339(r.finished_at) if r.finished_at else None,
                    "attempt_log": r.attempt_log,
                }
                for r in rows
            ]
        )
        return
    table = Table(title="webhook deliveries")
    for column in ("sent", "event", "run", "target", "status", "attempts", "last answer"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            f"{r.created_at:%Y-%m-%d %H:%M:%S}",
            r.event,
            str(r.run_id or ""),
            r.target,
            r.status,
            str(r.attempts),
            (f"HTTP {r.http_status} " if r.http_status else "") + (r.error or ""),
        )
    out.print(table)
