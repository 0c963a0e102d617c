"""Fixtures for the API: an app on the test database with small real executors, tokens, and helpers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app
from api.context import ApiConfig
from api.executors import Executors
from api.models import Role
from api.services import tokens
from core.clock import utcnow
from evidence.db import session_factory
from evidence.store import EvidenceStore
from tests.api.executors import SignatureVerifier, SigningBuilder, StoreCollector

# Fast polling so tests do not wait; the failure limiter off unless a test is about it.
TEST_CONFIG = ApiConfig(
    job_poll_seconds=0.05,
    job_heartbeat_seconds=0.2,
    auth_failure_limit=0,
)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def builder() -> SigningBuilder:
    return SigningBuilder()


@pytest.fixture
def collector(store: EvidenceStore) -> StoreCollector:
    return StoreCollector(store)


@pytest.fixture
def verifier(builder: SigningBuilder) -> SignatureVerifier:
    return SignatureVerifier((builder.key.public_key(),))


@pytest.fixture
def executors(builder: SigningBuilder, collector: StoreCollector, verifier: SignatureVerifier) -> Executors:
    return Executors(collect=collector, build_packet=builder, verify_packet=verifier)


@pytest.fixture
def make_app(engine: Engine, data_dir: Path, executors: Executors) -> Callable[..., FastAPI]:
    def make(*, config: ApiConfig = TEST_CONFIG, **overrides: Any) -> FastAPI:
        options: dict[str, Any] = {"engine": engine, "data_dir": data_dir, "executors": executors, "config": config}
        options.update(overrides)
        return create_app(**options)

    return make


@pytest.fixture
def client(make_app: Callable[..., FastAPI]) -> Iterator[TestClient]:
    with TestClient(make_app()) as test_client:
        yield test_client


def issue(engine: Engine, role: Role, *, lifetime: str = "30d", note: str | None = None) -> tuple[int, str]:
    """Create a token directly; returns (id, secret)."""
    with session_factory(engine)() as session:
        issued = tokens.create_token(
            session,
            role=role,
            created_by="test",
            now=utcnow(),
            lifetime=tokens.parse_lifetime(lifetime),
            note=note,
        )
    return issued.token.id, issued.secret


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def officer(engine: Engine) -> str:
    return issue(engine, Role.OFFICER, note="officer")[1]


@pytest.fixture
def admin(engine: Engine) -> str:
    return issue(engine, Role.ADMIN, note="admin")[1]


def wait_for(predicate: Callable[[], Any], *, timeout: float = 20.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def request_ready_packet(client: TestClient, secret: str, **body: Any) -> dict[str, Any]:
    """POST a packet request and wait until it is ready (or fail with its error)."""
    response = client.post("/v1/packets", json={"framework": "hipaa", **body}, headers=auth(secret))
    assert response.status_code == 202, response.text
    packet_id = response.json()["id"]

    def settled() -> dict[str, Any] | None:
        packet = client.get(f"/v1/packets/{packet_id}", headers=auth(secret)).json()
        return packet if packet["status"] in ("ready", "failed") else None

    packet = wait_for(settled)
    assert packet["status"] == "ready", packet
    return packet


def config(**changes: Any) -> ApiConfig:
    return replace(TEST_CONFIG, **changes)
