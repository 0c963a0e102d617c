"""Auditor grants: a token limited to one ready packet, with an expiry; revoking the grant revokes the token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import Grant, Packet, PacketStatus, Role, Token
from api.services.tokens import check_note, mint_token
from core.errors import ConflictError, InputError, NotFoundError
from evidence.labels import fit_label

MAX_GRANT_DAYS = 365


@dataclass(frozen=True, slots=True)
class IssuedGrant:
    grant: Grant
    token: Token
    secret: str  # returned once


def create_grant(
    session: Session,
    *,
    packet_id: str,
    lifetime: timedelta,
    note: str | None,
    created_by: str,
    now: datetime,
) -> IssuedGrant:
    """Mint an auditor token that can read `packet_id` (and its evidence) until `now + lifetime`."""
    check_note(note)
    if lifetime <= timedelta(0) or lifetime > timedelta(days=MAX_GRANT_DAYS):
        raise InputError(f"a grant lasts between a minute and {MAX_GRANT_DAYS} days, not {lifetime}")
    packet = session.get(Packet, packet_id)
    if packet is None:
        raise NotFoundError(f"packet {packet_id} does not exist")
    if packet.status != PacketStatus.READY.value:
        raise ConflictError(
            f"packet {packet_id} is {packet.status}; auditors can be granted a packet once it is ready",
            hint=f"wait for GET /v1/packets/{packet_id} to say ready",
        )
    issued = mint_token(
        session, role=Role.AUDITOR, created_by=created_by, now=now, lifetime=lifetime, note=note, packet_id=packet_id
    )
    grant = Grant(
        packet_id=packet_id,
        token_id=issued.token.id,
        expires_at=now + lifetime,
        note=note or None,
        created_by=fit_label(created_by),
        created_at=now,
    )
    session.add(grant)
    session.commit()
    return IssuedGrant(grant=grant, token=issued.token, secret=issued.secret)


def get_grant(session: Session, *, grant_id: int) -> Grant:
    grant = session.get(Grant, grant_id)
    if grant is None:
        raise NotFoundError(f"grant {grant_id} does not exist")
    return grant


def revoke_grant(session: Session, *, grant_id: int, now: datetime) -> Grant:
    """Revoke a grant and the auditor token minted for it (which exists for that grant alone)."""
    grant = get_grant(session, grant_id=grant_id)
    if grant.revoked_at is None:
        grant.revoked_at = now
    token = session.get(Token, grant.token_id)
    if token is not None and token.revoked_at is None and token.packet_id == grant.packet_id:
        token.revoked_at = now
    session.commit()
    return grant


def list_grants(session: Session, *, packet_id: str) -> list[Grant]:
    return list(session.scalars(select(Grant).where(Grant.packet_id == packet_id).order_by(Grant.id)))
