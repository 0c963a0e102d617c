"""Every download is in the access log before its first byte: when the entry cannot be written, nothing is sent.

The database refuses the write itself (a trigger, as a full disk or a revoked grant would), on both backends.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from api.services import access_log
from evidence.store import EvidenceStore
from evidence.verification import verify_store
from tests.api.conftest import auth, request_ready_packet


@contextmanager
def access_log_refuses_writes(engine: Engine) -> Iterator[None]:
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(
                text(
                    "CREATE FUNCTION refuse_access_log() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$"
                )
            )
            connection.execute(
                text(
                    "CREATE TRIGGER refuse_access_log BEFORE INSERT ON api_access_log "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_access_log()"
                )
            )
        else:
            connection.execute(
                text(
                    "CREATE TRIGGER refuse_access_log BEFORE INSERT ON api_access_log "
                    "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
                )
            )
    try:
        yield
    finally:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "DROP TRIGGER refuse_access_log ON api_access_log"
                    if engine.dialect.name == "postgresql"
                    else "DROP TRIGGER refuse_access_log"
                )
            )
            if engine.dialect.name == "postgresql":
                connection.execute(text("DROP FUNCTION refuse_access_log()"))


def test_a_download_whose_log_entry_cannot_be_written_sends_nothing(
    client: TestClient, officer: str, engine: Engine, store: EvidenceStore
) -> None:
    packet = request_ready_packet(client, officer)
    run = store.start_run(trigger="cli", requested_by="test", scope={})
    with store.recorder(run.id) as recorder:
        recorder.add(
            account_id="111111111111",
            region="us-east-1",
            service="s3",
            resource_type="bucket",
            resource_id="arn:aws:s3:::records",
            kind="s3.bucket_encryption",
            payload={"bucket": "records", "encrypted": True},
            observed_at=datetime.now(UTC),
        )
    store.finish_run(run.id)
    (sha,) = [record.sha256 for record in store.iter_evidence(run.id)]
    before = list(access_log.iter_records(engine))
    paths = [f"/v1/packets/{packet['id']}/pdf", f"/v1/packets/{packet['id']}/bundle", f"/v1/evidence/{sha}"]

    with access_log_refuses_writes(engine):
        for path in paths:
            with client.stream("GET", path, headers=auth(officer)) as response:
                body = b"".join(response.iter_bytes())
            assert response.status_code == 503, (path, body[:300])
            assert response.headers["content-type"] == "application/json"
            assert "x-content-sha256" not in response.headers and "content-disposition" not in response.headers
            error = json.loads(body)["error"]
            assert error["code"] == "store_unavailable"
            assert error["message"].startswith(f"{path} was not served: its access-log entry could not be written")
            assert "nothing was sent" in error["hint"]

    assert list(access_log.iter_records(engine)) == before  # no entry half-written, none for what was not sent
    metrics = client.get("/metrics", headers=auth(officer)).text
    assert 'outcome="complete"' not in metrics and 'outcome="incomplete"' not in metrics
    # What is stored is untouched, and is served (and logged) again once the log accepts writes.
    assert verify_store(engine).intact
    assert client.get(f"/v1/packets/{packet['id']}/verify", headers=auth(officer)).json()["ok"] is True
    pdf = client.get(paths[0], headers=auth(officer))
    assert pdf.status_code == 200 and hashlib.sha256(pdf.content).hexdigest() == packet["pdf"]["sha256"]
    payload = client.get(paths[2], headers=auth(officer))
    assert payload.status_code == 200 and hashlib.sha256(payload.content).hexdigest() == sha
    logged = [(e["action"], e["status_code"], e["bytes_sent"]) for e in access_log.iter_records(engine)][len(before) :]
    assert logged == [("download.pdf", 200, packet["pdf"]["size"]), ("download.evidence", 200, len(payload.content))]
    assert access_log.verify_database(engine).intact


def test_a_download_is_logged_before_its_first_byte_and_a_cut_transfer_adds_its_outcome(
    client: TestClient, officer: str, engine: Engine, data_dir
) -> None:  # type: ignore[no-untyped-def]
    packet = request_ready_packet(client, officer)
    path = f"/v1/packets/{packet['id']}/pdf"
    with client.stream("GET", path, headers=auth(officer)) as response:
        assert response.status_code == 200
        first = [(e["action"], e["status_code"], e["sha256"]) for e in access_log.iter_records(engine)]
        assert first[-1] == ("download.pdf", 200, packet["pdf"]["sha256"])  # written before any byte was read
        b"".join(response.iter_bytes())
    file = data_dir / "packets" / packet["id"] / "packet.pdf"
    data = bytearray(file.read_bytes())
    data[100] ^= 0x01
    file.write_bytes(bytes(data))
    try:
        with client.stream("GET", path, headers=auth(officer)) as response:
            b"".join(response.iter_bytes())
    except Exception:  # the transfer is cut short
        pass
    tail = [(e["status_code"], e["bytes_sent"]) for e in access_log.iter_records(engine)][-2:]
    assert tail[0] == (200, packet["pdf"]["size"])  # the start, as promised
    assert tail[1][0] == 500 and tail[1][1] < packet["pdf"]["size"]  # and what was actually sent
    assert access_log.verify_database(engine).intact
