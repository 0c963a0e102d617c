"""Auditor grants: a token limited to one packet and a number of days, logged on every use, revocable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import auth, request_ready_packet


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def grant(client: TestClient, officer: str, packet_id: str, days: int = 7, note: str | None = "Acme LLP") -> dict:
    response = client.post(
        f"/v1/packets/{packet_id}/grants", json={"expires_in_days": days, "note": note}, headers=auth(officer)
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_an_auditor_sees_only_the_granted_packet_and_every_use_is_logged(client: TestClient, officer: str) -> None:
    granted = request_ready_packet(client, officer, as_of="2026-01-01")
    other = request_ready_packet(client, officer, as_of="2026-01-02")
    issued = grant(client, officer, granted["id"])
    assert issued["token"].startswith("ap_") and issued["packet_id"] == granted["id"]
    listed = client.get(f"/v1/packets/{granted['id']}/grants", headers=auth(officer)).json()["items"]
    assert [g["id"] for g in listed] == [issued["id"]] and "token" not in listed[0]

    auditor = auth(issued["token"])
    assert [p["id"] for p in client.get("/v1/packets", headers=auditor).json()["items"]] == [granted["id"]]
    assert client.get(f"/v1/packets/{granted['id']}", headers=auditor).status_code == 200
    pdf = client.get(f"/v1/packets/{granted['id']}/pdf", headers=auditor)
    assert pdf.status_code == 200
    for path in (f"/v1/packets/{other['id']}", f"/v1/packets/{other['id']}/pdf", "/v1/jobs", "/metrics"):
        response = client.get(path, headers=auditor)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"

    log = client.get(f"/v1/packets/{granted['id']}/access-log", headers=auth(officer)).json()["items"]
    downloads = [e for e in log if e["action"] == "download.pdf"]
    assert len(downloads) == 1
    entry = downloads[0]
    assert entry["token_id"] == issued["token_id"] and entry["role"] == "auditor"
    assert entry["principal"] == f"auditor token {issued['token_id']} (Acme LLP)"
    assert entry["bytes_sent"] == granted["pdf"]["size"] and entry["sha256"] == granted["pdf"]["sha256"]
    # TestClient's peer "testclient" is not an IP address: stored as "invalid", never as the raw text.
    assert entry["status_code"] == 200 and entry["client"] == "invalid"
    requests = [(e["method"], e["path"], e["status_code"]) for e in log if e["action"] == "request"]
    assert ("GET", f"/v1/packets/{granted['id']}", 200) in requests
    # Requests for what the auditor may not see are logged too, under the global chain.
    chain = client.get("/v1/access-log/verify", headers=auth(officer)).json()
    assert chain["intact"] is True and chain["checked"] >= 7


def test_revoking_a_grant_revokes_its_token_at_once(client: TestClient, officer: str) -> None:
    packet = request_ready_packet(client, officer)
    issued = grant(client, officer, packet["id"])
    assert client.get(f"/v1/packets/{packet['id']}", headers=auth(issued["token"])).status_code == 200
    assert client.delete(f"/v1/grants/{issued['id']}", headers=auth(officer)).status_code == 204
    response = client.get(f"/v1/packets/{packet['id']}", headers=auth(issued["token"]))
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]
    assert response.headers["www-authenticate"].startswith("Bearer")
    listed = client.get(f"/v1/packets/{packet['id']}/grants", headers=auth(officer)).json()["items"]
    assert listed[0]["revoked_at"] is not None


def test_a_grant_expires_after_its_days(make_app, officer: str) -> None:
    clock = Clock()
    with TestClient(make_app(clock=clock)) as client:
        packet = request_ready_packet(client, officer)
        issued = grant(client, officer, packet["id"], days=2)
        assert issued["expires_at"].startswith((clock.now + timedelta(days=2)).date().isoformat())
        clock.now += timedelta(days=1, hours=23)
        assert client.get(f"/v1/packets/{packet['id']}/pdf", headers=auth(issued["token"])).status_code == 200
        clock.now += timedelta(hours=2)
        expired = client.get(f"/v1/packets/{packet['id']}/pdf", headers=auth(issued["token"]))
        assert expired.status_code == 401
        assert "expired" in expired.json()["error"]["message"]


@pytest.mark.parametrize("days", [0, 366, -1])
def test_grant_lifetime_is_bounded(client: TestClient, officer: str, days: int) -> None:
    packet = request_ready_packet(client, officer)
    response = client.post(f"/v1/packets/{packet['id']}/grants", json={"expires_in_days": days}, headers=auth(officer))
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["loc"] == ["body", "expires_in_days"]


def test_a_packet_that_is_not_ready_cannot_be_granted(client: TestClient, officer: str, builder) -> None:
    import threading

    builder.release = threading.Event()
    packet_id = client.post("/v1/packets", json={"framework": "hipaa"}, headers=auth(officer)).json()["id"]
    response = client.post(f"/v1/packets/{packet_id}/grants", json={"expires_in_days": 3}, headers=auth(officer))
    builder.release.set()
    assert response.status_code == 409
    assert "once it is ready" in response.json()["error"]["message"]
