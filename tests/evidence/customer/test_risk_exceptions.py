"""Exceptions need a real justification, an expiry within the maximum and an approver other than the requester."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from core.errors import ConflictError, ForbiddenError, InputError
from evidence.customer import service
from evidence.customer.types import ExceptionState
from tests.evidence.customer.conftest import ADMIN, ALICE, BOB, POLICY, T0

WHY = "Legacy vendor appliance cannot encrypt; replaced in Q3 (project 114)."


def _request(engine: Engine, **changes: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {
        "policy": POLICY,
        "actor": ALICE,
        "check_id": "s3.bucket_encryption_enabled",
        "resource_ids": ["arn:aws:s3:::legacy-exports"],
        "justification": WHY,
        "compensating": "Bucket is private, VPC-endpoint only, access logged and reviewed weekly.",
        "expires_at": T0 + timedelta(days=90),
        "now": T0,
    }
    args.update(changes)
    return service.request_exception(engine, **args)  # type: ignore[arg-type]


def test_an_approved_exception_is_active_until_it_expires(engine: Engine) -> None:
    requested = _request(engine)
    assert requested.state_as_of(T0) is ExceptionState.REQUESTED and not requested.active_at(T0)
    approved = service.approve_exception(engine, exception_id=requested.id, actor=BOB, now=T0 + timedelta(hours=1))
    assert approved.active_at(T0 + timedelta(days=89))
    assert approved.state_as_of(T0 + timedelta(days=90)) is ExceptionState.EXPIRED


def test_requests_without_a_real_justification_or_beyond_the_maximum_are_refused(engine: Engine) -> None:
    with pytest.raises(InputError, match="justification has 12 characters; at least 30"):
        _request(engine, justification="accepted ok.")
    with pytest.raises(InputError, match="more than 365 days away"):
        _request(engine, expires_at=T0 + timedelta(days=366))
    with pytest.raises(InputError, match="already passed"):
        _request(engine, expires_at=T0 - timedelta(days=1))
    with pytest.raises(
        InputError, match=r"unknown check 's3\.bucket_encryption'; nearest: s3\.bucket_encryption_enabled"
    ):
        _request(engine, check_id="s3.bucket_encryption")
    with pytest.raises(InputError, match="needs a scope"):
        _request(engine, check_id=None, resource_ids=[])
    assert service.list_exceptions(engine, as_of=T0).rows == ()


def test_the_requester_cannot_approve_and_decisions_are_final(engine: Engine) -> None:
    requested = _request(engine)
    with pytest.raises(ForbiddenError, match="alice cannot approve exception"):
        service.approve_exception(engine, exception_id=requested.id, actor=ALICE, now=T0)
    rejected = service.reject_exception(
        engine, exception_id=requested.id, actor=BOB, reason="encrypt it instead", now=T0 + timedelta(hours=1)
    )
    assert rejected.state_as_of(T0 + timedelta(hours=2)) is ExceptionState.REJECTED
    with pytest.raises(ConflictError, match="is rejected; only a requested one can be approved"):
        service.approve_exception(engine, exception_id=requested.id, actor=ADMIN, now=T0 + timedelta(hours=2))


def test_a_revoked_exception_reads_as_of_each_moment(engine: Engine) -> None:
    control_wide = _request(engine, check_id=None, resource_ids=[], control="pci-dss:12.1.1")
    assert str(control_wide.control) == "pci-dss:12.1.1" and control_wide.check_id is None
    service.approve_exception(engine, exception_id=control_wide.id, actor=BOB, now=T0 + timedelta(days=1))
    service.revoke_exception(
        engine, exception_id=control_wide.id, actor=ADMIN, reason="control implemented", now=T0 + timedelta(days=10)
    )
    at_day_5 = service.customer_evidence(engine, as_of=T0 + timedelta(days=5)).exceptions
    assert [e.state_as_of(T0 + timedelta(days=5)) for e in at_day_5] == [ExceptionState.APPROVED]
    assert len(at_day_5[0].events) == 2  # the revocation had not happened yet
    now = service.get_exception(engine, control_wide.id)
    assert now.state_as_of(T0 + timedelta(days=11)) is ExceptionState.REVOKED
    listed = service.list_exceptions(engine, as_of=T0 + timedelta(days=11), state=ExceptionState.REVOKED)
    assert [e.id for e in listed.rows] == [control_wide.id]
