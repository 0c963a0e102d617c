"""Packets: request -> background build -> ready with hashes; idempotency; streamed, verified downloads."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from api.models import Job, Packet
from evidence.db import session_factory
from tests.api.conftest import auth, request_ready_packet, wait_for
from tests.api.executors import SigningBuilder, fingerprint
from tests.api.live import serve


def test_packet_is_built_in_the_background_and_ready_with_its_hashes(
    client: TestClient, officer: str, data_dir: Path, builder: SigningBuilder
) -> None:
    builder.run_ids = (7,)
    packet = request_ready_packet(client, officer, as_of="2026-01-31")
    pdf = data_dir / "packets" / packet["id"] / "packet.pdf"
    bundle = data_dir / "packets" / packet["id"] / "bundle.zip"
    assert packet["pdf"]["sha256"] == hashlib.sha256(pdf.read_bytes()).hexdigest()
    assert packet["pdf"]["size"] == pdf.stat().st_size
    assert packet["bundle"]["sha256"] == hashlib.sha256(bundle.read_bytes()).hexdigest()
    assert packet["signer"] == {
        "fingerprint": fingerprint(builder.key.public_key()),
        "identity": "CN=auditpack test signer",
        "self_signed": True,
    }
    assert packet["run_ids"] == [7]
    assert packet["as_of"].startswith("2026-01-31T23:59:59")
    # The builder was told to write into a staging directory of the data dir, never a client-chosen path.
    request = builder.calls[0]
    assert request.out_pdf.parent.parent == (data_dir / "packets").resolve()
    assert request.out_pdf.parent.name.startswith(".staging-")
    assert not any(p.name.startswith(".staging-") for p in (data_dir / "packets").iterdir())


def test_a_packet_is_not_ready_until_its_files_are_complete(
    client: TestClient, officer: str, builder: SigningBuilder
) -> None:
    builder.release = threading.Event()
    response = client.post("/v1/packets", json={"framework": "soc2"}, headers=auth(officer))
    packet_id = response.json()["id"]
    assert response.json()["status"] == "queued"
    assert response.headers["location"] == f"/v1/packets/{packet_id}"
    wait_for(lambda: client.get(f"/v1/packets/{packet_id}", headers=auth(officer)).json()["status"] == "running")
    running = client.get(f"/v1/packets/{packet_id}", headers=auth(officer)).json()
    assert running["pdf"] is None and running["bundle"] is None
    download = client.get(f"/v1/packets/{packet_id}/pdf", headers=auth(officer))
    assert download.status_code == 409
    assert "not ready" in download.json()["error"]["message"]
    builder.release.set()
    wait_for(lambda: client.get(f"/v1/packets/{packet_id}", headers=auth(officer)).json()["status"] == "ready")


def test_a_failed_build_says_why_and_leaves_no_files(
    client: TestClient, officer: str, builder: SigningBuilder, data_dir: Path
) -> None:
    from core.errors import InputError

    builder.fail_with = InputError("no usable run before 2020-01-01", hint="collect first")
    packet_id = client.post("/v1/packets", json={"framework": "pci-dss"}, headers=auth(officer)).json()["id"]
    packet = wait_for(
        lambda: (p := client.get(f"/v1/packets/{packet_id}", headers=auth(officer)).json())["status"] == "failed" and p
    )
    assert packet["error"] == "no usable run before 2020-01-01\n  hint: collect first"
    job = client.get(f"/v1/jobs/{packet['job_id']}", headers=auth(officer)).json()
    assert job["status"] == "failed" and job["error"] == packet["error"]
    assert list((data_dir / "packets").iterdir()) == []


def test_a_build_that_fails_on_a_file_names_the_file_but_not_the_server_path(
    client: TestClient, officer: str, builder: SigningBuilder, data_dir: Path, engine: Engine
) -> None:
    try:  # the real error a build gets from a missing file in the data directory
        (data_dir / "signing" / "signer.p12").read_bytes()
    except OSError as exc:
        builder.fail_with = exc
    packet_id = client.post("/v1/packets", json={"framework": "hipaa"}, headers=auth(officer)).json()["id"]
    packet = wait_for(
        lambda: (p := client.get(f"/v1/packets/{packet_id}", headers=auth(officer)).json())["status"] == "failed" and p
    )
    job = client.get(f"/v1/jobs/{packet['job_id']}", headers=auth(officer)).json()
    listed = client.get("/v1/jobs?status=failed", headers=auth(officer)).text
    for shown in (packet["error"], job["error"], listed):
        assert str(data_dir.parent) not in shown and "/signing/" not in shown
    assert packet["error"] == job["error"] == "FileNotFoundError: [Errno 2] No such file or directory: '…/signer.p12'"
    with session_factory(engine)() as session:  # the operator's own view (auditpack jobs list) keeps the whole path
        assert str(data_dir / "signing" / "signer.p12") in session.get(Job, packet["job_id"]).error


def test_leftover_staging_is_removed_at_start_up_but_not_a_build_in_progress(
    make_app, officer: str, builder: SigningBuilder, data_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    staging = data_dir / "packets"
    builder.release = threading.Event()
    with TestClient(make_app()) as replica:  # another replica, building a packet on the shared data directory
        packet_id = replica.post("/v1/packets", json={"framework": "hipaa"}, headers=auth(officer)).json()["id"]
        building = wait_for(lambda: list(staging.glob(f".staging-{packet_id}-*")))
        orphan = staging / ".staging-6f1c1f3e-8b1e-4a55-9d43-0d6f3c1a2b3c-0badc0de"  # its process died mid-build
        (orphan / ".auditpack-x").mkdir(parents=True)
        (orphan / ".packet.pdf.abc.part").write_bytes(b"%PDF-1.7 half a packet")
        with TestClient(make_app()):  # this replica starts
            assert not orphan.exists()
            assert all(path.exists() for path in building)  # the live build keeps its files
        builder.release.set()
        ready = wait_for(
            lambda: (
                (p := replica.get(f"/v1/packets/{packet_id}", headers=auth(officer)).json())["status"] == "ready" and p
            )
        )
    assert ready["pdf"]["size"] > 0 and sorted(path.name for path in staging.iterdir()) == [packet_id]


def test_bad_packet_requests_are_refused_precisely(client: TestClient, officer: str) -> None:
    cases = [
        ({"framework": "iso27001"}, 400, "unknown framework 'iso27001'"),
        ({"framework": "hipaa", "as_of": "2999-01-01T00:00:00Z"}, 400, "in the future"),
        (
            {"framework": "hipaa", "as_of": "2026-01-01", "period": {"from": "2025-01-01", "to": "2025-12-31"}},
            400,
            "not both",
        ),
        ({"framework": "hipaa", "period": {"from": "2025-12-01", "to": "2025-01-01"}}, 400, "is after to"),
        ({"framework": "hipaa", "extra": 1}, 422, "extra"),
        ({"framework": "hipaa", "scope": {"accounts": ["12"]}}, 422, "scope.accounts.0"),
    ]
    for body, status, text in cases:
        response = client.post("/v1/packets", json=body, headers=auth(officer))
        assert response.status_code == status, (body, response.text)
        assert text in response.json()["error"]["message"], (body, response.text)


def test_same_idempotency_key_concurrently_creates_one_packet(client: TestClient, officer: str, engine: Engine) -> None:
    headers = {**auth(officer), "Idempotency-Key": "q1-hipaa-packet"}
    body = {"framework": "hipaa", "as_of": "2026-03-31T00:00:00Z"}
    barrier = threading.Barrier(8)

    def post(_index: int) -> httpx.Response:
        barrier.wait()
        return client.post("/v1/packets", json=body, headers=headers)

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(post, range(8)))
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum("idempotent-replayed" not in r.headers for r in responses) == 1
    with session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Packet)) == 1
        assert session.scalar(select(func.count()).select_from(Job)) == 1


def test_an_idempotency_key_reused_for_another_request_is_refused(client: TestClient, officer: str) -> None:
    headers = {**auth(officer), "Idempotency-Key": "k-1"}
    first = client.post("/v1/packets", json={"framework": "hipaa"}, headers=headers)
    assert first.status_code == 202
    second = client.post("/v1/packets", json={"framework": "soc2"}, headers=headers)
    assert second.status_code == 422
    assert second.json()["error"]["code"] == "idempotency_key_reused"
    assert first.json()["id"] in second.json()["error"]["message"]


def test_download_streams_recorded_bytes_with_hash_headers(client: TestClient, officer: str, data_dir: Path) -> None:
    packet = request_ready_packet(client, officer)
    for which, media in (("pdf", "application/pdf"), ("bundle", "application/zip")):
        response = client.get(f"/v1/packets/{packet['id']}/{which}", headers=auth(officer))
        assert response.status_code == 200
        name = "packet.pdf" if which == "pdf" else "bundle.zip"
        assert response.content == (data_dir / "packets" / packet["id"] / name).read_bytes()
        assert response.headers["content-type"] == media
        assert response.headers["content-length"] == str(packet[which]["size"])
        assert response.headers["x-content-sha256"] == packet[which]["sha256"]
        assert response.headers["etag"] == f'"{packet[which]["sha256"]}"'
        assert "attachment" in response.headers["content-disposition"]
        assert response.headers["cache-control"] == "private, no-cache"
        again = client.get(
            f"/v1/packets/{packet['id']}/{which}", headers={**auth(officer), "If-None-Match": response.headers["etag"]}
        )
        assert again.status_code == 304 and again.content == b""


def test_an_altered_file_is_never_served_complete(client: TestClient, officer: str, data_dir: Path) -> None:
    packet = request_ready_packet(client, officer, as_of="2026-02-01")
    path = data_dir / "packets" / packet["id"] / "packet.pdf"
    data = bytearray(path.read_bytes())
    data[100] ^= 0x01  # same size, one bit different (in the signed body)
    path.write_bytes(bytes(data))
    received = bytearray()
    try:
        with client.stream("GET", f"/v1/packets/{packet['id']}/pdf", headers=auth(officer)) as response:
            for chunk in response.iter_bytes():
                received.extend(chunk)
    except Exception:  # the transfer is cut short: what matters is what arrived
        pass
    assert len(received) < len(data)
    verification = client.get(f"/v1/packets/{packet['id']}/verify", headers=auth(officer)).json()
    assert verification["ok"] is False
    pdf = verification["files"][0]
    assert pdf["intact"] is False and pdf["actual_sha256"] != pdf["expected_sha256"]
    assert pdf["signature"]["valid"] is False


def test_verify_reports_intact_files_and_valid_signatures(client: TestClient, officer: str) -> None:
    packet = request_ready_packet(client, officer)
    result = client.get(f"/v1/packets/{packet['id']}/verify", headers=auth(officer)).json()
    assert result["ok"] is True and result["signatures_checked"] is True
    assert [f["name"] for f in result["files"]] == ["pdf", "bundle"]
    for check in result["files"]:
        assert check["intact"] and check["actual_sha256"] == check["expected_sha256"]
        assert check["signature"] == {"intact": True, "valid": True, "trusted": True, "problems": []}


def test_twenty_parallel_downloads_return_identical_bytes(
    make_app, officer: str, builder: SigningBuilder, data_dir: Path
) -> None:
    builder.padding = 3 * 1024 * 1024 + 12345  # several chunks, not a multiple of the chunk size
    with serve(make_app()) as base, httpx.Client(base_url=base, timeout=60) as http:
        response = http.post("/v1/packets", json={"framework": "hipaa"}, headers=auth(officer))
        packet_id = response.json()["id"]
        packet = wait_for(
            lambda: (p := http.get(f"/v1/packets/{packet_id}", headers=auth(officer)).json())["status"] == "ready" and p
        )

        def download(_index: int) -> bytes:
            with httpx.Client(base_url=base, timeout=60) as own:
                got = own.get(f"/v1/packets/{packet_id}/pdf", headers=auth(officer))
                assert got.status_code == 200
                return got.content

        with ThreadPoolExecutor(20) as pool:
            bodies = list(pool.map(download, range(20)))
    expected = (data_dir / "packets" / packet_id / "packet.pdf").read_bytes()
    assert len(expected) > 3 * 1024 * 1024
    assert all(body == expected for body in bodies)
    assert hashlib.sha256(bodies[0]).hexdigest() == packet["pdf"]["sha256"]
