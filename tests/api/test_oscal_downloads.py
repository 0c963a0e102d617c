"""GET /v1/packets/{id}/oscal/{document}: a packet's OSCAL documents, streamed from its bundle, for officers and the
auditors granted the packet only, logged like every download, and never served once the bundle changed on disk."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.conftest import auth, request_ready_packet
from tests.api.executors import SigningBuilder

DOCUMENTS = {
    name: json.dumps({name: {"uuid": hashlib.sha256(name.encode()).hexdigest()[:8], "padding": "x" * 200_000}}).encode()
    for name in ("catalog", "ssp", "assessment-results", "poam")
}


def _grant(client: TestClient, officer: str, packet_id: str) -> str:
    response = client.post(f"/v1/packets/{packet_id}/grants", json={"expires_in_days": 7}, headers=auth(officer))
    assert response.status_code == 201, response.text
    return response.json()["token"]


def test_each_document_is_served_to_officers_and_granted_auditors_and_logged(
    client: TestClient, officer: str, builder: SigningBuilder
) -> None:
    builder.oscal = DOCUMENTS
    packet = request_ready_packet(client, officer)
    other = request_ready_packet(client, officer, framework="soc2")
    auditor = _grant(client, officer, packet["id"])
    for name, body in DOCUMENTS.items():
        for secret in (officer, auditor):
            response = client.get(f"/v1/packets/{packet['id']}/oscal/{name}", headers=auth(secret))
            assert response.status_code == 200, response.text
            assert response.content == body
            assert response.headers["content-type"] == "application/json"
            assert response.headers["x-content-sha256"] == hashlib.sha256(body).hexdigest()
            assert response.headers["content-length"] == str(len(body))
            assert f"auditpack-hipaa-{packet['id']}-{name}.json" in response.headers["content-disposition"]
    # Another packet, not granted, does not exist for the auditor (while the officer may read it)
    hidden = client.get(f"/v1/packets/{other['id']}/oscal/poam", headers=auth(auditor))
    assert hidden.status_code == 404 and f"packet {other['id']} does not exist" in hidden.text
    assert client.get(f"/v1/packets/{other['id']}/oscal/poam", headers=auth(officer)).status_code == 200
    log = client.get(f"/v1/packets/{packet['id']}/access-log", headers=auth(officer)).json()["items"]
    served = [e for e in log if e["action"] == "download.oscal"]
    assert len(served) == 2 * len(DOCUMENTS)
    by_path = {(e["path"], e["role"]): e for e in served}
    entry = by_path[(f"/v1/packets/{packet['id']}/oscal/assessment-results", "auditor")]
    assert entry["sha256"] == hashlib.sha256(DOCUMENTS["assessment-results"]).hexdigest()
    assert entry["bytes_sent"] == len(DOCUMENTS["assessment-results"]) and entry["status_code"] == 200


def test_an_unknown_document_is_404_naming_the_documents(
    client: TestClient, officer: str, builder: SigningBuilder
) -> None:
    builder.oscal = DOCUMENTS
    packet = request_ready_packet(client, officer)
    response = client.get(f"/v1/packets/{packet['id']}/oscal/sar", headers=auth(officer))
    assert response.status_code == 404
    assert response.json()["error"]["message"] == (
        "there is no OSCAL document 'sar': expected one of catalog, ssp, assessment-results, poam"
    )


def test_a_packet_built_without_oscal_documents_says_so(
    client: TestClient, officer: str, builder: SigningBuilder
) -> None:
    builder.oscal = {}  # a bundle whose manifest lists no OSCAL documents
    packet = request_ready_packet(client, officer)
    response = client.get(f"/v1/packets/{packet['id']}/oscal/poam", headers=auth(officer))
    assert response.status_code == 404
    assert "has no OSCAL documents: it was built before auditpack wrote them" in response.json()["error"]["message"]


def test_a_bundle_changed_on_disk_serves_nothing(
    client: TestClient, officer: str, builder: SigningBuilder, data_dir: Path
) -> None:
    builder.oscal = DOCUMENTS
    packet = request_ready_packet(client, officer)
    bundle = data_dir / "packets" / packet["id"] / "bundle.zip"
    data = bytearray(bundle.read_bytes())
    data[-30] ^= 0xFF  # same size, one byte changed (in the zip's directory: the documents themselves still read)
    bundle.write_bytes(bytes(data))
    response = client.get(f"/v1/packets/{packet['id']}/oscal/assessment-results", headers=auth(officer))
    assert response.status_code == 500
    assert response.json()["error"]["message"].startswith(f"packet {packet['id']}: the bundle hashes to ")
    assert b"padding" not in response.content
