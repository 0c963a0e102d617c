"""Builders for customer evidence items and exceptions with their review histories (the contract types)."""

from __future__ import annotations

from datetime import datetime, timedelta

from evidence.customer.types import ControlRef, CustomerItem, ItemKind, ReviewEvent, RiskException
from tests.frameworks.helpers import AS_OF

SUBMITTED_AT = AS_OF - timedelta(days=40)
REVIEWED_AT = AS_OF - timedelta(days=30)


def ref(value: str) -> ControlRef:
    framework, _, control_id = value.partition(":")
    return ControlRef(framework, control_id)


def _events(first: str, *later: tuple[str, datetime], at: datetime) -> tuple[ReviewEvent, ...]:
    events = [ReviewEvent(id=1, state=first, actor="alice@example.com", at=at)]
    for index, (state, when) in enumerate(later, start=2):
        events.append(ReviewEvent(id=index, state=state, actor="bob@example.com", at=when, reason="r"))
    return tuple(events)


def item(
    item_id: int,
    *controls: str,
    kind: ItemKind = ItemKind.DOCUMENT,
    history: tuple[tuple[str, datetime], ...] = (("approved", REVIEWED_AT),),
    submitted_at: datetime = SUBMITTED_AT,
    valid_until: datetime = AS_OF + timedelta(days=300),
    supersedes: int | None = None,
    superseded_by: int | None = None,
) -> CustomerItem:
    """An item naming `controls` ("mini:M"), submitted at `submitted_at`, then each (state, at) of `history`."""
    return CustomerItem(
        id=item_id,
        kind=kind,
        title=f"item {item_id}",
        controls=tuple(ref(c) for c in controls),
        owner="CISO",
        submitted_by="alice@example.com",
        submitted_at=submitted_at,
        valid_from=submitted_at,
        valid_until=valid_until,
        content_sha256="c" * 64,
        media_type="application/pdf",
        size=10,
        filename="policy.pdf",
        supersedes=supersedes,
        statement_by="Dana Smith, Privacy Officer" if kind is ItemKind.ATTESTATION else None,
        events=_events("submitted", *history, at=submitted_at),
        superseded_by=superseded_by,
    )


def risk_exception(
    exception_id: int,
    *,
    check_id: str | None = None,
    control: str | None = None,
    resource_ids: tuple[str, ...] = (),
    account_id: str | None = None,
    history: tuple[tuple[str, datetime], ...] = (("approved", REVIEWED_AT),),
    expires_at: datetime = AS_OF + timedelta(days=90),
) -> RiskException:
    requested_at = SUBMITTED_AT
    return RiskException(
        id=exception_id,
        check_id=check_id,
        control=ref(control) if control else None,
        resource_ids=resource_ids,
        account_id=account_id,
        justification="Vendor appliance cannot encrypt until its replacement in Q3.",
        compensating="Private bucket behind a VPC endpoint; access reviewed weekly.",
        requested_by="alice@example.com",
        requested_at=requested_at,
        expires_at=expires_at,
        events=_events("requested", *history, at=requested_at),
    )
