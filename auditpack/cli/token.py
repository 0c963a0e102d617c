"""`auditpack token create|list|revoke`: API bearer tokens. A token's secret is printed once; only its hash is kept."""

from __future__ import annotations

import typer

from auditpack.cli.identity import user_at_host
from auditpack.cli.output import OutputFormat, err, out, print_json
from core.clock import utcnow
from core.errors import InputError
from core.vocabulary import Role

app = typer.Typer(help="API bearer tokens: create (shown once), list, revoke.", no_args_is_help=True)


def _who() -> str:
    from evidence.labels import fit_label

    return fit_label(f"cli:{user_at_host()}")


def _sessions():  # type: ignore[no-untyped-def]
    from auditpack.settings import load_settings
    from auditpack.wiring import open_store
    from evidence.db import session_factory

    return session_factory(open_store(load_settings(), recover=False).engine)


def _when(value) -> str | None:  # type: ignore[no-untyped-def]
    from core.canonical import rfc3339

    return rfc3339(value) if value is not None else None


@app.command("create")
def create(
    role: Role = typer.Option(..., "--role", help="admin, officer or auditor."),
    expires: str = typer.Option(
        None, "--expires", help="Lifetime: 30d, 12h, 2w; 'never' (not auditors). Default 90d, auditors 30d."
    ),
    packet: str = typer.Option(None, "--packet", help="Auditors: the packet id this token may read (a grant)."),
    note: str = typer.Option(None, "--note", help="Who or what the token is for (shown in logs)."),
    output: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
) -> None:
    """Create a token and print it once."""
    from api.services import grants, tokens

    tokens.check_note(note, name="--note")  # the API's rule, before anything is written
    lifetime = tokens.parse_lifetime(expires or ("30d" if role is Role.AUDITOR else "90d"))
    now = utcnow()
    grant_id = None
    with _sessions()() as session:
        if packet is not None:
            if role is not Role.AUDITOR:
                raise InputError(f"--packet grants an auditor access to a packet; it does not apply to {role.value}")
            if lifetime is None:
                raise InputError("an auditor token must expire: give --expires such as 30d")
            issued_grant = grants.create_grant(
                session, packet_id=packet, lifetime=lifetime, note=note, created_by=_who(), now=now
            )
            token, secret, grant_id = issued_grant.token, issued_grant.secret, issued_grant.grant.id
        else:
            issued = tokens.create_token(session, role=role, created_by=_who(), now=now, lifetime=lifetime, note=note)
            token, secret = issued.token, issued.secret
    if output is OutputFormat.json:
        print_json(
            {
                "id": token.id,
                "token": secret,
                "role": token.role,
                "expires_at": _when(token.expires_at),
                "note": token.note,
                "packet_id": token.packet_id,
                "grant_id": grant_id,
            }
        )
        return
    out.print(secret, highlight=False)
    expiry = _when(token.expires_at) or "never"
    err.print(f"token {token.id} ({token.role}) expires {expiry}; it is shown only now, store it safely")


@app.command("list")
def list_(
    all_: bool = typer.Option(False, "--all", help="Include expired and revoked tokens."),
    output: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
) -> None:
    """List tokens (never their secrets)."""
    from api.services import tokens

    with _sessions()() as session:
        rows = tokens.list_tokens(session, now=utcnow(), include_inactive=all_)
    records = [
        {
            "id": t.id,
            "hint": t.hint,
            "role": t.role,
            "note": t.note,
            "created_by": t.created_by,
            "created_at": _when(t.created_at),
            "expires_at": _when(t.expires_at),
            "revoked_at": _when(t.revoked_at),
            "packet_id": t.packet_id,
        }
        for t in rows
    ]
    if output is OutputFormat.json:
        print_json(records)
        return
    if not records:
        out.print("no tokens" + ("" if all_ else " (active); --all shows expired and revoked ones"))
        return
    for r in records:
        state = "revoked" if r["revoked_at"] else f"expires {r['expires_at'] or 'never'}"
        extra = f" packet {r['packet_id']}" if r["packet_id"] else ""
        out.print(f"{r['id']:>5}  {r['hint']}…  {r['role']:<8} {state}{extra}  {r['note'] or ''}", highlight=False)


@app.command("revoke")
def revoke(token_id: int = typer.Argument(..., help="The token id (from `auditpack token list`).")) -> None:
    """Revoke a token and its grants; it stops working at once."""
    from api.services import tokens

    with _sessions()() as session:
        token = tokens.revoke_token(session, token_id=token_id, now=utcnow())
    out.print(f"token {token.id} revoked at {_when(token.revoked_at)}")
