"""`auditpack evidence`: customer evidence (documents, attestations, records): submit, review, list, import."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from auditpack.cli import customer_common as common
from auditpack.cli.output import OutputFormat, out, print_json
from core.clock import utcnow
from core.errors import InputError
from evidence.customer.states import ItemKind, ItemState

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from evidence.customer.types import CustomerItem

app = typer.Typer(
    help="Customer evidence: documents, attestations and records that support controls, reviewed by a second person.",
    no_args_is_help=True,
)
_CONTROL = typer.Option(..., "--control", help="A control it supports, FRAMEWORK:CONTROL_ID (repeatable).")
_OWNER_HELP = "Who owns the evidence (a person or team)."
_UNTIL = typer.Option(None, "--valid-until", help="YYYY-MM-DD (00:00 UTC): when it stops being valid.")
_SUPERSEDES = typer.Option(None, "--supersedes", help="The id of the earlier version this one replaces.")
_AS = typer.Option(None, "--as", help=common.AS_HELP)
_FORMAT = typer.Option(OutputFormat.table, "--format", help="table or json")


def _report(item: CustomerItem, output: OutputFormat, verb: str) -> None:
    if output is OutputFormat.json:
        print_json(common.item_dict(item, utcnow()))
        return
    state = item.state_as_of(utcnow())
    out.print(
        f"item {item.id} {verb}: {escape(item.title)} ({item.kind}, {item.media_type}) is {state}", highlight=False
    )


@app.command("add")
def add(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="The document to submit."),
    control: list[str] = _CONTROL,
    title: str = typer.Option(..., "--title", help="What the document is."),
    owner: str = typer.Option(..., "--owner", help=_OWNER_HELP),
    valid_until: str | None = _UNTIL,
    supersedes: int | None = _SUPERSEDES,
    as_: str | None = _AS,
    output: OutputFormat = _FORMAT,
) -> None:
    """Submit a document (PDF, PNG, JPEG, DOCX, XLSX, text, CSV, JSON, Markdown) for review."""
    from evidence.customer import service

    engine, shared = _submission(as_, valid_until, supersedes)
    with file.open("rb") as stream:
        item = service.submit_document(
            engine, stream=stream, title=title, controls=control, owner=owner, filename=file.name, **shared
        )
    _report(item, output, "submitted")


def _submission(as_: str | None, valid_until: str | None, supersedes: int | None) -> tuple[Engine, dict[str, Any]]:
    """The engine, and what every submission takes alike: the policy, who acts, validity and the superseded id."""
    from auditpack.settings import load_settings
    from auditpack.wiring import customer_policy

    settings = load_settings()
    return common.engine(), {
        "policy": customer_policy(settings),
        "actor": common.actor(as_, settings),
        "valid_until": common.parse_moment(valid_until, "--valid-until") if valid_until else None,
        "supersedes": supersedes,
    }


@app.command("attest")
def attest(
    control: list[str] = _CONTROL,
    by: str = typer.Option(..., "--by", help='Who makes the statement: "Name, role".'),
    statement: str | None = typer.Option(None, "--statement", help="The statement."),
    statement_file: Path | None = typer.Option(None, "--statement-file", exists=True, dir_okay=False),
    title: str | None = typer.Option(None, "--title", help='Default: "Attestation by NAME".'),
    owner: str | None = typer.Option(None, "--owner", help="Default: the person making the statement."),
    valid_until: str | None = _UNTIL,
    supersedes: int | None = _SUPERSEDES,
    as_: str | None = _AS,
    output: OutputFormat = _FORMAT,
) -> None:
    """Submit an attestation: a statement by a named person in a named role."""
    from evidence.customer import service

    if (statement is None) == (statement_file is None):
        raise InputError("give the statement with either --statement TEXT or --statement-file FILE")
    text = statement if statement is not None else statement_file.read_text(encoding="utf-8")  # type: ignore[union-attr]
    name = by.partition(",")[0].strip()
    engine, shared = _submission(as_, valid_until, supersedes)
    item = service.submit_attestation(
        engine,
        statement=text,
        statement_by=by,
        title=title or f"Attestation by {name}",
        controls=control,
        owner=owner or name,
        **shared,
    )
    _report(item, output, "submitted")


@app.command("record")
def record(
    url: str = typer.Option(..., "--url", help="Where the record lives (ticket, HR system, dashboard)."),
    file: Path = typer.Option(..., "--file", exists=True, dir_okay=False, help="The captured export or text."),
    control: list[str] = _CONTROL,
    title: str = typer.Option(..., "--title", help="What the record shows."),
    owner: str = typer.Option(..., "--owner", help=_OWNER_HELP),
    valid_until: str | None = _UNTIL,
    supersedes: int | None = _SUPERSEDES,
    as_: str | None = _AS,
    output: OutputFormat = _FORMAT,
) -> None:
    """Submit a record: a reference to another system plus the export captured from it."""
    from evidence.customer import service

    engine, shared = _submission(as_, valid_until, supersedes)
    with file.open("rb") as stream:
        item = service.submit_record(
            engine, url=url, stream=stream, title=title, controls=control, owner=owner, filename=file.name, **shared
        )
    _report(item, output, "submitted")


@app.command("list")
def list_(
    control: str | None = typer.Option(None, "--control", help="Only items supporting FRAMEWORK:CONTROL_ID."),
    state: ItemState | None = typer.Option(None, "--state", help="Only items in this state (at --as-of)."),
    kind: ItemKind | None = typer.Option(None, "--kind", help="document, attestation or record."),
    expiring_within: str | None = typer.Option(
        None, "--expiring-within", help="Only approved items whose validity ends within this, e.g. 30d."
    ),
    as_of: str | None = typer.Option(None, "--as-of", help="YYYY-MM-DD: states as of 00:00 UTC that day."),
    after: int | None = typer.Option(None, "--after", help="Continue after this id (the cursor printed last)."),
    limit: int = typer.Option(100, "--limit", min=1, max=1000),
    output: OutputFormat = _FORMAT,
) -> None:
    """List customer evidence items with their current state."""
    from evidence.customer import service

    moment = common.parse_moment(as_of, "--as-of") if as_of else utcnow()
    page = service.list_items(
        common.engine(),
        as_of=moment,
        control=control,
        state=state,
        kind=kind,
        expiring_within=common.parse_duration(expiring_within, "--expiring-within") if expiring_within else None,
        after_id=after,
        limit=limit,
    )
    if output is OutputFormat.json:
        print_json({"items": [common.item_dict(i, moment) for i in page.rows], "next_cursor": page.next_cursor})
        return
    if not page.rows:
        out.print("no customer evidence matches")
    for item in page.rows:
        until = item.valid_until.date().isoformat()
        controls = ", ".join(str(ref) for ref in item.controls)
        state = str(item.state_as_of(moment))
        line = f"{item.id:>5}  {state:<10} {item.kind!s:<11} until {until}  {item.title}  [{controls}]"
        out.print(escape(line), highlight=False)
    if page.next_cursor is not None:
        out.print(f"more: --after {page.next_cursor}")


@app.command("show")
def show(item_id: int = typer.Argument(..., help="The item id."), output: OutputFormat = _FORMAT) -> None:
    """Show an item with its full review history."""
    from evidence.customer import service

    item = service.get_item(common.engine(), item_id)
    data = common.item_dict(item, utcnow())
    if output is OutputFormat.json:
        print_json(data)
        return
    common.print_details(data)


@app.command("approve")
def approve(item_id: int = typer.Argument(...), as_: str | None = _AS, output: OutputFormat = _FORMAT) -> None:
    """Approve a submitted item (not your own)."""
    from evidence.customer import service

    _report(service.approve(common.engine(), item_id=item_id, actor=common.actor(as_)), output, "approved")


@app.command("reject")
def reject(
    item_id: int = typer.Argument(...),
    reason: str = typer.Option(..., "--reason", help="Why it does not support the controls."),
    as_: str | None = _AS,
    output: OutputFormat = _FORMAT,
) -> None:
    """Reject a submitted item (not your own), saying why."""
    from evidence.customer import service

    item = service.reject(common.engine(), item_id=item_id, actor=common.actor(as_), reason=reason)
    _report(item, output, "rejected")


@app.command("retract")
def retract(
    item_id: int = typer.Argument(...),
    reason: str = typer.Option(..., "--reason", help="Why it is withdrawn."),
    as_: str | None = _AS,
    output: OutputFormat = _FORMAT,
) -> None:
    """Withdraw a submitted or approved item; its history stays."""
    from evidence.customer import service

    item = service.retract(common.engine(), item_id=item_id, actor=common.actor(as_), reason=reason)
    _report(item, output, "retracted")


@app.command("import")
def import_(
    folder: Path = typer.Argument(..., exists=True, file_okay=False, help="A folder with evidence.yaml."),
    as_: str | None = _AS,
    output: OutputFormat = _FORMAT,
) -> None:
    """Import the documents listed in DIR/evidence.yaml: unchanged ones add nothing, changed ones supersede."""
    from auditpack.settings import load_settings
    from auditpack.wiring import customer_policy
    from evidence.customer.importer import import_folder

    settings = load_settings()
    result = import_folder(
        common.engine(), folder=folder, policy=customer_policy(settings), actor=common.actor(as_, settings)
    )
    if output is OutputFormat.json:
        print_json(
            {
                "added": [{"path": p, "id": i} for p, i in result.added],
                "superseded": [{"path": p, "old_id": o, "id": n} for p, o, n in result.superseded],
                "unchanged": [{"path": p, "id": i} for p, i in result.unchanged],
            }
        )
        return
    for path, item_id in result.added:
        out.print(escape(f"added       {path}: item {item_id}"), highlight=False)
    for path, old, new in result.superseded:
        out.print(escape(f"superseded  {path}: item {new} replaces item {old}"), highlight=False)
    out.print(
        f"{len(result.added)} added, {len(result.superseded)} superseded, {len(result.unchanged)} unchanged; "
        "new items await review (auditpack evidence approve ID)"
    )
