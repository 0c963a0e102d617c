"""Tokens (CLI and API), authentication failures, rate limiting, security headers and body limits."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.models import Token
from api.security import secret_hash
from evidence.db import session_factory
from tests.api.conftest import auth, config, request_ready_packet


def test_token_create_prints_the_secret_once_and_stores_only_its_hash(
    cli_env,
    run_cli,
    engine: Engine,  # type: ignore[no-untyped-def]
) -> None:
    created = run_cli("token", "create", "--role", "officer", "--expires", "30d", "--note", "alice", "--format", "json")
    assert created.code == 0, created
    data = json.loads(created.stdout)
    assert set(data) >= {"id", "token", "role", "expires_at"}
    assert data["role"] == "officer" and data["token"].startswith("ap_") and data["expires_at"].endswith("Z")
    with session_factory(engine)() as session:
        row = session.get(Token, data["id"])
        assert row.secret_sha256 == secret_hash(data["token"])
        stored = " ".join(str(getattr(row, c.key)) for c in Token.__table__.columns)
    assert data["token"] not in stored
    listed = run_cli("token", "list", "--format", "json")
    assert data["token"] not in listed.stdout
    assert [t["id"] for t in json.loads(listed.stdout)] == [data["id"]]
    assert json.loads(listed.stdout)[0]["hint"] == data["token"][:7]
    assert run_cli("token", "revoke", str(data["id"])).code == 0
    assert json.loads(run_cli("token", "list", "--format", "json").stdout) == []
    assert json.loads(run_cli("token", "list", "--all", "--format", "json").stdout)[0]["revoked_at"]


def test_token_create_refuses_bad_input(cli_env, run_cli) -> None:  # type: ignore[no-untyped-def]
    bad_lifetime = run_cli("token", "create", "--role", "officer", "--expires", "soon")
    assert bad_lifetime.code == 2 and "expected a positive number with a unit" in bad_lifetime.stderr
    auditor_forever = run_cli("token", "create", "--role", "auditor", "--expires", "never")
    assert auditor_forever.code == 2 and "must expire" in auditor_forever.stderr
    officer_packet = run_cli("token", "create", "--role", "officer", "--packet", "x")
    assert officer_packet.code == 2 and "--packet" in officer_packet.stderr
    missing = run_cli("token", "create", "--role", "auditor", "--packet", "6f1c1f3e-8b1e-4a55-9d43-0d6f3c1a2b3c")
    assert missing.code == 2 and "does not exist" in missing.stderr
    assert run_cli("token", "revoke", "999").code == 2


def test_an_auditor_token_from_the_cli_reads_its_packet(client: TestClient, officer: str, cli_env, run_cli) -> None:  # type: ignore[no-untyped-def]
    packet = request_ready_packet(client, officer)
    created = run_cli(
        "token", "create", "--role", "auditor", "--packet", packet["id"], "--expires", "7d", "--format", "json"
    )
    assert created.code == 0, created
    secret = json.loads(created.stdout)["token"]
    assert client.get(f"/v1/packets/{packet['id']}/pdf", headers=auth(secret)).status_code == 200
    assert client.get("/v1/runs/1", headers=auth(secret)).status_code == 404


def test_admins_manage_tokens_over_the_api(client: TestClient, admin: str, officer: str) -> None:
    created = client.post("/v1/tokens", json={"role": "officer", "expires": "12h", "note": "ci"}, headers=auth(admin))
    assert created.status_code == 201
    secret = created.json()["token"]
    assert client.get("/v1/runs", headers=auth(secret)).status_code == 200
    refused = client.post("/v1/tokens", json={"role": "admin"}, headers=auth(officer))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    auditor = client.post("/v1/tokens", json={"role": "auditor"}, headers=auth(admin))
    assert auditor.status_code == 400 and "grants" in auditor.json()["error"]["message"]
    revoked = client.delete(f"/v1/tokens/{created.json()['id']}", headers=auth(admin))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert client.get("/v1/runs", headers=auth(secret)).status_code == 401


@pytest.mark.parametrize(
    ("headers", "message", "invalid_token"),
    [
        ({}, "no bearer token", False),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "no bearer token", False),
        ({"Authorization": "Bearer"}, "no bearer token", False),
        ({"Authorization": "Bearer ap_short"}, "malformed bearer token", True),
        ({"Authorization": "Bearer ap_" + "A" * 43}, "unknown bearer token", True),
    ],
)
def test_unusable_credentials_get_401_with_a_challenge(
    client: TestClient, headers: dict[str, str], message: str, invalid_token: bool
) -> None:
    response = client.get("/v1/packets", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "unauthenticated", "message": response.json()["error"]["message"]}}
    assert message in response.json()["error"]["message"]
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="auditpack"')
    assert ('error="invalid_token"' in challenge) is invalid_token


def test_repeated_failures_from_one_address_are_throttled(make_app, officer: str) -> None:
    with TestClient(make_app(config=config(auth_failure_limit=3, auth_failure_window_seconds=60))) as client:
        for _ in range(3):
            assert client.get("/v1/packets", headers=auth("ap_" + "B" * 43)).status_code == 401
        throttled = client.get("/v1/packets", headers=auth(officer))  # even a good token, from that address
        assert throttled.status_code == 429
        assert 1 <= int(throttled.headers["retry-after"]) <= 60
        assert throttled.json()["error"]["code"] == "rate_limited"
        assert client.get("/healthz").status_code == 200  # probes need no token and are never throttled
        metrics = client.get("/metrics", headers=auth(officer))
        assert metrics.status_code == 429


def test_security_headers_on_every_response(client: TestClient, officer: str) -> None:
    for path, headers in (("/healthz", {}), ("/v1/packets", {}), ("/v1/packets", auth(officer)), ("/nowhere", {})):
        response = client.get(path, headers=headers)
        assert response.headers["strict-transport-security"].startswith("max-age=")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cache-control"] == "no-store"
    docs = client.get("/docs")
    assert docs.status_code == 200 and "script-src 'self'" in docs.headers["content-security-policy"]


def test_request_bodies_over_the_limit_get_413(make_app, officer: str) -> None:
    with TestClient(make_app(config=config(max_body_bytes=2048))) as client:
        big = {"framework": "hipaa", "scope": {"accounts": ["123456789012"] * 200}}
        response = client.post("/v1/packets", json=big, headers=auth(officer))
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "payload_too_large"
        assert response.headers["x-frame-options"] == "DENY"

        def chunks():  # no Content-Length: the limit still holds while streaming
            for _ in range(10):
                yield b" " * 1024

        streamed = client.post(
            "/v1/packets", content=chunks(), headers={**auth(officer), "Content-Type": "application/json"}
        )
        assert streamed.status_code == 413
        assert client.post("/v1/packets", json={"framework": "hipaa"}, headers=auth(officer)).status_code == 202


def test_unexpected_errors_are_json_500s_without_internals(make_app, officer: str) -> None:
    app = make_app()

    @app.get("/v1/boom")
    def boom() -> None:
        raise RuntimeError("secret internal detail")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/v1/boom")
    assert response.status_code == 500
    assert response.json() == {
        "error": {"code": "internal_error", "message": "internal error; the server log has the details"}
    }
    assert response.headers["x-content-type-options"] == "nosniff"
