"""Tokens: mint (the secret is returned once), list, revoke, and authenticate a presented secret."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.errors import AuthenticationError
from api.models import NOTE_MAX_LENGTH, Grant, Packet, PacketStatus, Role, Token
from api.parsing import ParameterError, check_free_text
from api.principal import PacketScope, Principal
from api.security import is_well_formed, new_secret, secret_hash, secret_hint
from core.canonical import rfc3339
from core.errors import InputError, NotFoundError
from evidence.labels import fit_label

_DURATION = re.compile(r"^([0-9]{1,5})([mhdw])$")  # [0-9]: \d would read Arabic-Indic or fullwidth digits
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MAX_LIFETIME = timedelta(days=3650)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new token row and its secret; the secret is shown once and never stored."""

    token: Token
    secret: str


def parse_lifetime(text: str) -> timedelta | None:
    """`30d`, `12h`, `90m`, `2w` -> timedelta; `never` -> None (no expiry)."""
    value = text.strip().lower()
    if value == "never":
        return None
    match = _DURATION.fullmatch(value)
    if not match or int(match.group(1)) == 0:
        raise InputError(
            f"cannot read the lifetime {text!r}: expected a positive number with a unit m, h, d or w "
            "(e.g. 30d, 12h), or 'never'"
        )
    lifetime = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if lifetime > MAX_LIFETIME:
        raise InputError(f"the lifetime {text!r} is longer than the maximum of {MAX_LIFETIME.days} days")
    return lifetime


def check_note(note: str | None, *, name: str = "note") -> None:
    """The rule for notes, wherever they come from (API body, CLI option): see `api.parsing.check_free_text`."""
    if note is not None:
        try:
            check_free_text(note, max_length=NOTE_MAX_LENGTH)
        except ParameterError as exc:
            raise ParameterError(f"{name}: {exc.message}") from None


def mint_token(
    session: Session,
    *,
    role: Role,
    created_by: str,
    now: datetime,
    lifetime: timedelta | None,
    note: str | None = None,
    packet_id: str | None = None,
) -> IssuedToken:
    """Create a token (flushed, not committed, so a grant can join the same transaction)."""
    check_note(note)
    if role is Role.AUDITOR and lifetime is None:
        raise InputError("an auditor token must expire: give a lifetime such as 30d")
    secret = new_secret()
    token = Token(
        secret_sha256=secret_hash(secret),
        hint=secret_hint(secret),
        role=role.value,
        note=note or None,
        created_by=fit_label(created_by),
        created_at=now,
        expires_at=now + lifetime if lifetime is not None else None,
        packet_id=packet_id,
    )
    session.add(token)
    session.flush()
    return IssuedToken(token=token, secret=secret)


def create_token(
    session: Session,
    *,
    role: Role,
    created_by: str,
    now: datetime,
    lifetime: timedelta | None,
    note: str | None = None,
) -> IssuedToken:
    issued = mint_token(session, role=role, created_by=created_by, now=now, lifetime=lifetime, note=note)
    session.commit()
    return issued


def list_tokens(session: Session, *, now: datetime, include_inactive: bool = False) -> list[Token]:
    query = select(Token).order_by(Token.id)
    if not include_inactive:
        query = query.where(Token.revoked_at.is_(None)).where((Token.expires_at.is_(None)) | (Token.expires_at > now))
    return list(session.scalars(query))


def get_token(session: Session, *, token_id: int) -> Token:
    token = session.get(Token, token_id)
    if token is None:
        raise NotFoundError(f"token {token_id} does not exist")
    return token


def revoke_token(session: Session, *, token_id: int, now: datetime) -> Token:
    """Revoke a token and every grant made through it. Revoking twice keeps the first revocation time."""
    token = get_token(session, token_id=token_id)
    if token.revoked_at is None:
        token.revoked_at = now
    for grant in session.scalars(select(Grant).where(Grant.token_id == token_id, Grant.revoked_at.is_(None))):
        grant.revoked_at = now
    session.commit()
    return token


def authenticate(session: Session, *, secret: str | None, now: datetime) -> Principal:
    """The principal behind a bearer secret, or `AuthenticationError` saying why not."""
    if not secret:
        raise AuthenticationError("no bearer token: send 'Authorization: Bearer ap_...'")
    if not is_well_formed(secret):
        raise AuthenticationError("malformed bearer token: expected 'ap_' followed by 43 URL-safe characters")
    token = session.scalars(select(Token).where(Token.secret_sha256 == secret_hash(secret))).first()
    if token is None:
        raise AuthenticationError("unknown bearer token")
    return principal_of(session, token, now=now)


def principal_of(session: Session, token: Token, *, now: datetime) -> Principal:
    """The principal a token row stands for now, or `AuthenticationError` when it was revoked or has expired: the
    rule a bearer request and a web session (`api.ui.session`, checked on every request) share."""
    if token.revoked_at is not None:
        raise AuthenticationError(f"token {token.id} was revoked at {rfc3339(token.revoked_at)}")
    if token.expires_at is not None and token.expires_at <= now:
        raise AuthenticationError(f"token {token.id} expired at {rfc3339(token.expires_at)}")
    role = Role(token.role)
    if role is not Role.AUDITOR:
        return Principal(token_id=token.id, role=role, note=token.note)
    return Principal(token_id=token.id, role=role, note=token.note, scopes=_auditor_scopes(session, token.id, now))


def _auditor_scopes(session: Session, token_id: int, now: datetime) -> tuple[PacketScope, ...]:
    """Ready packets granted to this token by live grants: the runs each rests on and the accounts it covers."""
    rows = session.execute(
        select(Packet.id, Packet.run_ids, Packet.scope, Packet.customer_item_ids, Packet.exception_ids)
        .join(Grant, Grant.packet_id == Packet.id)
        .where(
            Grant.token_id == token_id,
            Grant.revoked_at.is_(None),
            Grant.expires_at > now,
            Packet.status == PacketStatus.READY.value,
        )
        .order_by(Packet.id)
    ).all()
    return tuple(_packet_scope(*row) for row in rows)


def _packet_scope(
    packet_id: str,
    run_ids: list[int] | None,
    scope: dict[str, Any] | None,
    item_ids: list[int] | None = None,
    exception_ids: list[int] | None = None,
) -> PacketScope:
    accounts = (scope or {}).get("accounts") or ()  # empty: the packet covers every account of its runs
    return PacketScope(
        packet_id=packet_id,
        run_ids=frozenset(int(run_id) for run_id in run_ids or ()),
        accounts=frozenset(str(account) for account in accounts) if accounts else None,
        item_ids=frozenset(int(item_id) for item_id in item_ids or ()),
        exception_ids=frozenset(int(exception_id) for exception_id in exception_ids or ()),
    )
