"""`auditpack exception`: risk acceptances for failing checks or controls, approved by a second person."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from auditpack.cli import customer_common as common
from auditpack.cli.output import OutputFormat, out, print_json
from core.clock import utcnow
from evidence.customer.states import ExceptionState

if TYPE_CHECKING:
    from evidence.customer.types import RiskException

app = typer.Typer(
    help="Exceptions (risk acceptances): request with a justification and an expiry; another person approves.",
    no_args_is_help=True,
)
_AS = typer.Option(None, "--as", help=common.AS_HELP)
_FORMAT = typer.Option(OutputFormat.table, "--format", help="table or json")


def _scope(exception: RiskException) -> str:
    parts = [exception.check_id or "", str(exception.control) if exception.control else ""]
    where = f"account {exception.account_id}" if exception.account_id else ""
    resources = f"{len(exception.resource_ids)} resource(s)" if exception.resource_ids else "all resources"
    return " ".join(part for part in (*parts, where, resources if exception.check_id else "") if part)


def _report(exception: RiskException, output: OutputFormat, verb: str) -> None:
    if output is OutputFormat.json:
        print_json(common.exception_dict(exception, utcnow()))
        return
    state = exception.state_as_of(utcnow())
    line = f"exception {exception.id} {verb}: {_scope(exception)}; {state}, expires {exception.expires_at.isoformat()}"
    out.print(escape(line), highlight=False)


@app.command("request")
def request(
    check: str | None = typer.Option(None, "--check", help="The check id whose failures are accepted."),
    resource: list[str] = typer.Option([], "--resource", help="Only this resource id or ARN (repeatable)."),
    account: str | None = typer.Option(None, "--account", help="Only this account's resources."),
    control: str | None = typer.Option(None, "--control", help="A control, FRAMEWORK:CONTROL_ID."),
    justification: str = typer.Option(..., "--justification", help="Why the risk is accepted (30+ characters)."),
    compensating: str = typer.Option(..., "--compensating", help="The compensating controls in place."),
    expires: str = typer.Option(..., "--expires", help="YYYY-MM-DD (00:00 UTC): when the acceptance ends."),
    as_: str | None = _AS,
    output: OutputFormat = _FORMAT,
) -> None:
    """Request an exception; it applies only once someone else approves it, and only until it expires."""
    from auditpack.settings import load_settings
    from auditpack.wiring import customer_policy
    from evidence.customer import service

    settings = load_settings()
    exception = service.request_exception(
        common.engine(),
        policy=customer_policy(settings),
        actor=common.actor(as_, settings),
        check_id=check,
        control=control,
        resource_ids=resource,
        account_id=account,
        justification=justification,
        compensating=compensating,
        expires_at=common.parse_moment(expires, "--expires"),
    )
    _report(exception, output, "requested")


@app.command("approve")
def approve(exception_id: int = typer.Argument(...), as_: str | None = _AS, output: OutputFormat = _FORMAT) -> None:
    """Approve a requested exception (not your own)."""
    from evidence.customer import service

    exception = service.approve_exception(common.engine(), exception_id=exception_id, actor=common.actor(as_))
    _report(exception, output, "approved")


@app.command("reject")
def reject(
    exception_id: int = typer.Argument(...),
    reason: str = typer.Option(..., "--reason"),
    as_: str | None = _AS,
    output: OutputFormat = _FORMAT,
) -> None:
    """Reject a requested exception (not your own), saying why."""
    from evidence.customer import service

    exception = service.reject_exception(
        common.engine(), exception_id=exception_id, actor=common.actor(as_), reason=reason
    )
    _report(exception, output, "rejected")


@app.command("revoke")
def revoke(
    exception_id: int = typer.Argument(...),
    reason: str = typer.Option(..., "--reason"),
    as_: str | None = _AS,
    output: OutputFormat = _FORMAT,
) -> None:
    """End a requested or approved exception now; its history stays."""
    from evidence.customer import service

    exception = service.revoke_exception(
        common.engine(), exception_id=exception_id, actor=common.actor(as_), reason=reason
    )
    _report(exception, output, "revoked")


@app.command("list")
def list_(
    state: ExceptionState | None = typer.Option(None, "--state", help="Only exceptions in this state."),
    check: str | None = typer.Option(None, "--check", help="Only exceptions for this check id."),
    after: int | None = typer.Option(None, "--after", help="Continue after this id."),
    limit: int = typer.Option(100, "--limit", min=1, max=1000),
    output: OutputFormat = _FORMAT,
) -> None:
    """List exceptions with their current state."""
    from evidence.customer import service

    now = utcnow()
    page = service.list_exceptions(common.engine(), as_of=now, state=state, check_id=check, after_id=after, limit=limit)
    if output is OutputFormat.json:
        print_json({"exceptions": [common.exception_dict(e, now) for e in page.rows], "next_cursor": page.next_cursor})
        return
    if not page.rows:
        out.print("no exceptions match")
    for exception in page.rows:
        line = (
            f"{exception.id:>5}  {exception.state_as_of(now)!s:<10} until {exception.expires_at.date().isoformat()}  "
            f"{_scope(exception)}"
        )
        out.print(escape(line), highlight=False)
    if page.next_cursor is not None:
        out.print(f"more: --after {page.next_cursor}")


@app.command("show")
def show(exception_id: int = typer.Argument(...), output: OutputFormat = _FORMAT) -> None:
    """Show an exception with its full history."""
    from evidence.customer import service

    exception = service.get_exception(common.engine(), exception_id)
    data = common.exception_dict(exception, utcnow())
    if output is OutputFormat.json:
        print_json(data)
        return
    common.print_details(data)
