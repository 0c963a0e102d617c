"""With an S3 blob store, packet files are locked objects and downloads read them back from S3 (moto, mock_aws)."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.services import access_log
from evidence.blobstore import S3BlobStore, S3Location, attach
from evidence.store import EvidenceStore
from tests.api.conftest import auth, request_ready_packet
from tests.api.executors import SigningBuilder
from tests.api.test_oscal_downloads import DOCUMENTS
from tests.evidence.worm import locked_bucket

BUCKET = "packets-worm"
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def s3(engine: Engine) -> Iterator[Any]:
    with locked_bucket(BUCKET) as client:
        attach(engine, S3BlobStore(client, S3Location.parse(f"s3://{BUCKET}/ap"), retention_days=90, clock=lambda: NOW))
        yield client


@pytest.fixture
def s3_client(s3: Any, make_app: Callable[..., FastAPI]) -> Iterator[TestClient]:
    with TestClient(make_app()) as test_client:
        yield test_client


def _key(sha256: str) -> str:
    return f"ap/{sha256[:2]}/{sha256}"


def test_packet_files_are_locked_objects_and_downloads_read_them_from_s3(
    s3_client: TestClient, s3: Any, officer: str, data_dir: Path
) -> None:
    packet = request_ready_packet(s3_client, officer)
    for which in ("pdf", "bundle"):
        sha256 = packet[which]["sha256"]
        head = s3.head_object(Bucket=BUCKET, Key=_key(sha256))
        assert head["ObjectLockMode"] == "COMPLIANCE" and head["ContentLength"] == packet[which]["size"]
        assert head["ObjectLockRetainUntilDate"] == datetime(2027, 3, 4, 12, 0, tzinfo=UTC)
    shutil.rmtree(data_dir / "packets" / packet["id"])  # the data directory's copy is not what is served
    for which in ("pdf", "bundle"):
        response = s3_client.get(f"/v1/packets/{packet['id']}/{which}", headers=auth(officer))
        assert response.status_code == 200
        assert hashlib.sha256(response.content).hexdigest() == packet[which]["sha256"]
        assert response.headers["x-content-sha256"] == packet[which]["sha256"]
    pdf = s3_client.get(f"/v1/packets/{packet['id']}/pdf", headers=auth(officer)).content
    assert pdf.startswith(b"%PDF-")


def test_an_altered_packet_object_is_never_delivered_whole(
    s3_client: TestClient, s3: Any, officer: str, engine: Engine
) -> None:
    packet = request_ready_packet(s3_client, officer)
    key = _key(packet["pdf"]["sha256"])
    original = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    forged = bytearray(original)
    forged[100] ^= 0x01
    s3.put_object(Bucket=BUCKET, Key=key, Body=bytes(forged))  # same size, a new version under the same key
    received = b""
    try:
        with s3_client.stream("GET", f"/v1/packets/{packet['id']}/pdf", headers=auth(officer)) as response:
            for chunk in response.iter_bytes():
                received += chunk
    except Exception:  # the transfer is cut short (the test client raises the server's error)
        pass
    assert len(received) < len(original) and bytes(forged) != received
    tail = [(e["status_code"], e["bytes_sent"]) for e in access_log.iter_records(engine)][-2:]
    assert tail[0] == (200, packet["pdf"]["size"]) and tail[1][0] == 500 and tail[1][1] < packet["pdf"]["size"]
    verification = s3_client.get(f"/v1/packets/{packet['id']}/verify", headers=auth(officer)).json()
    assert verification["ok"] is False
    pdf, bundle = verification["files"]
    assert pdf["intact"] is False and pdf["actual_sha256"] == hashlib.sha256(forged).hexdigest()
    assert pdf["signature"]["valid"] is False and bundle["intact"] is True


def test_verify_checks_the_objects_not_the_working_copy(
    s3_client: TestClient, s3: Any, officer: str, data_dir: Path
) -> None:
    packet = request_ready_packet(s3_client, officer)
    shutil.rmtree(data_dir / "packets" / packet["id"])
    result = s3_client.get(f"/v1/packets/{packet['id']}/verify", headers=auth(officer)).json()
    assert result["ok"] is True
    for check in result["files"]:
        assert check["intact"] and check["signature"]["valid"] is True
    s3.delete_object(Bucket=BUCKET, Key=_key(packet["pdf"]["sha256"]))
    missing = s3_client.get(f"/v1/packets/{packet['id']}/verify", headers=auth(officer)).json()
    assert missing["ok"] is False and missing["files"][0]["actual_sha256"] is None


def test_a_missing_packet_object_is_refused_naming_its_key(s3_client: TestClient, s3: Any, officer: str) -> None:
    packet = request_ready_packet(s3_client, officer)
    key = _key(packet["bundle"]["sha256"])
    s3.delete_object(Bucket=BUCKET, Key=key)  # a delete marker hides the locked version
    response = s3_client.get(f"/v1/packets/{packet['id']}/bundle", headers=auth(officer))
    assert response.status_code >= 400
    assert f"object s3://{BUCKET}/{key} is missing" in response.text


def test_an_evidence_payload_is_served_from_its_object_and_refused_once_altered(
    s3_client: TestClient, s3: Any, officer: str, engine: Engine
) -> None:
    store = EvidenceStore(engine)
    run = store.start_run(trigger="cli", requested_by="test", scope={})
    with store.recorder(run.id) as recorder:
        sha256 = recorder.add(
            account_id="111111111111",
            region="us-east-1",
            service="s3",
            resource_type="bucket",
            resource_id="arn:aws:s3:::records",
            kind="s3.bucket_encryption",
            payload={"bucket": "records", "encrypted": True},
        )
    store.finish_run(run.id)
    served = s3_client.get(f"/v1/evidence/{sha256}", headers=auth(officer))
    assert served.status_code == 200 and hashlib.sha256(served.content).hexdigest() == sha256
    s3.put_object(Bucket=BUCKET, Key=_key(sha256), Body=b'{"bucket":"records","encrypted":false}')
    refused = s3_client.get(f"/v1/evidence/{sha256}", headers=auth(officer))
    assert refused.status_code >= 400 and f"object s3://{BUCKET}/{_key(sha256)} was altered" in refused.text


def test_oscal_documents_are_served_from_the_bundle_object_on_a_replica_without_the_copy(
    s3_client: TestClient, officer: str, builder: SigningBuilder, data_dir: Path
) -> None:
    builder.oscal = DOCUMENTS
    packet = request_ready_packet(s3_client, officer)
    shutil.rmtree(data_dir / "packets" / packet["id"])  # as on a replica that did not build it
    for name, body in DOCUMENTS.items():
        response = s3_client.get(f"/v1/packets/{packet['id']}/oscal/{name}", headers=auth(officer))
        assert response.status_code == 200, response.text
        assert response.content == body
