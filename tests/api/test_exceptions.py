"""Exceptions (risk acceptances) over HTTP, on both backends: request, four-eyes review, lists and cursors, auditor
visibility and idempotency."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.models import Packet, Role
from api.services import grants
from core.clock import utcnow
from evidence.db import session_factory
from tests.api.conftest import auth, issue, request_ready_packet
from tests.api.customer import CONTROL, POLICY

JUSTIFICATION = "Vendor appliance cannot encrypt until its Q3 replacement (project 114)."


@pytest.fixture
def client(make_app: Callable[..., FastAPI]) -> Iterator[TestClient]:
    with TestClient(make_app(customer_policy=POLICY)) as test_client:
        yield test_client


@pytest.fixture
def reviewer(engine: Engine) -> str:
    return issue(engine, Role.OFFICER, note="reviewer")[1]


def _in(days: int) -> str:
    return (utcnow() + timedelta(days=days)).date().isoformat()


def request(client: TestClient, secret: str, headers: dict[str, str] | None = None, **changes: Any) -> Any:
    body: dict[str, Any] = {
        "check_id": "s3.default_encryption",
        "resource_ids": ["arn:aws:s3:::legacy-exports"],
        "justification": JUSTIFICATION,
        "compensating": "Private bucket behind a VPC endpoint;\naccess logged and reviewed weekly.",
        "expires_at": _in(90),
    }
    body.update(changes)
    return client.post("/v1/exceptions", json=body, headers={**auth(secret), **(headers or {})})


def test_an_exception_is_reviewed_by_someone_else(client: TestClient, officer: str, reviewer: str) -> None:
    created = request(client, officer)
    assert created.status_code == 201, created.text
    exception = created.json()
    assert created.headers["location"] == f"/v1/exceptions/{exception['id']}"
    assert exception["state"] == "requested" and exception["requested_by"] == "officer token 1 (officer)"
    assert exception["expires_at"] == f"{_in(90)}T00:00:00Z"
    url = f"/v1/exceptions/{exception['id']}"

    own = client.post(f"{url}/approve", headers=auth(officer))
    assert own.status_code == 403 and "it is their own" in own.json()["error"]["message"]
    approved = client.post(f"{url}/approve", headers=auth(reviewer))
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    assert client.post(f"{url}/reject", json={"reason": "too late"}, headers=auth(reviewer)).status_code == 409
    revoked = client.post(f"{url}/revoke", json={"reason": "replacement shipped early"}, headers=auth(officer))
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    shown = client.get(url, headers=auth(reviewer)).json()
    assert [event["state"] for event in shown["events"]] == ["requested", "approved", "revoked"]

    second = request(client, officer, check_id=None, resource_ids=[], control=CONTROL).json()
    assert second["control"] == CONTROL and second["check_id"] is None
    rejected = client.post(f"/v1/exceptions/{second['id']}/reject", json={"reason": "no"}, headers=auth(reviewer))
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"


def test_the_service_rules_answer_400_and_bad_input_422(client: TestClient, officer: str) -> None:
    short = request(client, officer, justification="Because.")
    assert short.status_code == 400 and "at least 30" in short.json()["error"]["message"]
    far = request(client, officer, expires_at=_in(400))
    assert far.status_code == 400 and "AUDITPACK_EXCEPTION_MAX_DAYS" in far.json()["error"]["hint"]
    no_scope = request(client, officer, check_id=None, resource_ids=[])
    assert no_scope.status_code == 400 and "needs a scope" in no_scope.json()["error"]["message"]
    assert request(client, officer, expires_at="2026-13-01").status_code == 422
    assert request(client, officer, account_id="12").status_code == 422
    assert request(client, officer, colour="blue").status_code == 422
    assert client.post("/v1/exceptions/1/reject", json={}, headers=auth(officer)).status_code == 422
    assert client.post("/v1/exceptions/99/approve", headers=auth(officer)).status_code == 404


def test_lists_filter_by_state_and_check_and_page(client: TestClient, officer: str, reviewer: str) -> None:
    ids = [request(client, officer, resource_ids=[f"arn:aws:s3:::b{n}"]).json()["id"] for n in range(3)]
    other = request(client, officer, check_id="iam.root_mfa", resource_ids=[]).json()["id"]
    client.post(f"/v1/exceptions/{ids[0]}/approve", headers=auth(reviewer))
    headers = auth(officer)
    first = client.get("/v1/exceptions", params={"limit": 3}, headers=headers).json()
    assert [e["id"] for e in first["items"]] == ids and first["next_cursor"]
    rest = client.get("/v1/exceptions", params={"limit": 3, "cursor": first["next_cursor"]}, headers=headers).json()
    assert [e["id"] for e in rest["items"]] == [other] and rest["next_cursor"] is None
    approved = client.get("/v1/exceptions", params={"state": "approved"}, headers=headers).json()["items"]
    assert [e["id"] for e in approved] == [ids[0]]
    by_check = client.get("/v1/exceptions", params={"check_id": "iam.root_mfa"}, headers=headers).json()["items"]
    assert [e["id"] for e in by_check] == [other]
    expired = client.get("/v1/exceptions", params={"state": "expired", "as_of": _in(120)}, headers=headers).json()
    assert [e["id"] for e in expired["items"]] == [ids[0]]
    forged = client.get("/v1/exceptions", params={"cursor": "eyJ2IjoyfQ.AAAA"}, headers=headers)
    assert forged.status_code == 400 and forged.json()["error"]["code"] == "invalid_cursor"


def test_auditors_read_only_the_exceptions_their_packet_lists(client: TestClient, officer: str, engine: Engine) -> None:
    listed = request(client, officer).json()["id"]
    hidden = request(client, officer, resource_ids=["arn:aws:s3:::other"]).json()["id"]
    packet = request_ready_packet(client, officer, as_of="2026-01-01")
    with session_factory(engine)() as session:
        issued = grants.create_grant(
            session, packet_id=packet["id"], lifetime=timedelta(days=3), note="Acme", created_by="t", now=utcnow()
        )
    auditor = auth(issued.secret)
    assert client.get("/v1/exceptions", headers=auditor).json() == {"items": [], "next_cursor": None}
    assert client.get(f"/v1/exceptions/{listed}", headers=auditor).status_code == 404
    with session_factory(engine).begin() as session:
        session.get(Packet, packet["id"]).exception_ids = [listed]
    assert [e["id"] for e in client.get("/v1/exceptions", headers=auditor).json()["items"]] == [listed]
    assert client.get(f"/v1/exceptions/{listed}", headers=auditor).status_code == 200
    assert client.get(f"/v1/exceptions/{hidden}", headers=auditor).status_code == 404
    assert client.post(f"/v1/exceptions/{listed}/approve", headers=auditor).status_code == 404
    assert request(client, issued.secret).status_code == 404


def test_idempotency_keys_replay_requests_and_reviews(client: TestClient, officer: str, reviewer: str) -> None:
    key = {"Idempotency-Key": "exception-1"}
    first, replay = request(client, officer, key), request(client, officer, key)
    assert first.status_code == replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true" and replay.json()["id"] == first.json()["id"]
    assert len(client.get("/v1/exceptions", headers=auth(officer)).json()["items"]) == 1
    changed = request(client, officer, key, justification=JUSTIFICATION + " Really.")
    assert changed.status_code == 422 and changed.json()["error"]["code"] == "idempotency_key_reused"
    url = f"/v1/exceptions/{first.json()['id']}/approve"
    headers = {**auth(reviewer), "Idempotency-Key": "approve-1"}
    assert client.post(url, headers=headers).status_code == 200
    repeated = client.post(url, headers=headers)
    assert repeated.status_code == 200 and repeated.headers["idempotent-replayed"] == "true"
