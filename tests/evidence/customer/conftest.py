"""Fixtures for customer evidence: a policy with a few known controls and checks, actors, a fixed clock."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from evidence.customer import service
from evidence.customer.policy import Actor, CustomerPolicy, Role
from evidence.customer.types import CustomerItem, ItemKind

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
CONTROLS = frozenset(
    {"hipaa:164.308(a)(1)(ii)(A)", "hipaa:164.308(a)(5)(i)", "soc2:CC6.1", "soc2:CC6.2", "pci-dss:12.1.1"}
)
CHECKS = frozenset({"iam.root_mfa_enabled", "s3.bucket_encryption_enabled"})
POLICY = CustomerPolicy(
    known_controls=CONTROLS,
    known_checks=CHECKS,
    validity={
        ItemKind.DOCUMENT: timedelta(days=365),
        ItemKind.ATTESTATION: timedelta(days=180),
        ItemKind.RECORD: timedelta(days=90),
    },
    max_bytes=64 * 1024 * 1024,
    exception_max=timedelta(days=365),
)
ALICE = Actor("alice", Role.OFFICER)  # submits
BOB = Actor("bob", Role.OFFICER)  # reviews
ADMIN = Actor("root", Role.ADMIN)
AUDITOR = Actor("eve", Role.AUDITOR)
PDF = b"%PDF-1.7\n" + b"policy text " * 100


def submit(engine: Engine, data: bytes = PDF, *, at: datetime = T0, **changes: object) -> CustomerItem:
    args: dict[str, object] = {
        "policy": POLICY,
        "actor": ALICE,
        "stream": io.BytesIO(data),
        "title": "Access control policy",
        "controls": ["soc2:CC6.1", "hipaa:164.308(a)(1)(ii)(A)"],
        "owner": "CISO",
        "filename": "access-control.pdf",
        "now": at,
    }
    args.update(changes)
    return service.submit_document(engine, **args)  # type: ignore[arg-type]


@pytest.fixture
def policy() -> CustomerPolicy:
    return POLICY
