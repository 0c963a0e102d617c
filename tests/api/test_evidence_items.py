"""Customer evidence items over HTTP, on both backends: upload (streamed, limited, sniffed), review with four eyes,
lists and cursors, the content download and its access-log entry, auditor visibility and idempotency."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError

from api import uploads
from api.models import AccessLogEntry, Packet, Role
from api.services import access_log, grants
from core.clock import utcnow
from evidence.customer.models import Content, Item
from evidence.db import session_factory
from tests.api.conftest import auth, issue, request_ready_packet
from tests.api.customer import (
    CONTROL,
    DOCUMENT_FIELDS,
    PDF,
    POLICY,
    multipart_head,
    multipart_tail,
    post_streamed,
    upload,
)
from tests.api.executors import SigningBuilder

ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8


@pytest.fixture
def app(make_app: Callable[..., FastAPI]) -> FastAPI:
    return make_app(customer_policy=POLICY)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def reviewer(engine: Engine) -> str:
    return issue(engine, Role.OFFICER, note="reviewer")[1]


def _count(engine: Engine, column: Any) -> int:
    with session_factory(engine)() as session:
        return session.scalar(select(func.count()).select_from(column.class_)) or 0


def test_an_item_goes_through_review_with_four_eyes(
    client: TestClient, officer: str, reviewer: str, admin: str
) -> None:
    created = upload(client, officer)
    assert created.status_code == 201, created.text
    item = created.json()
    assert created.headers["location"] == f"/v1/evidence-items/{item['id']}"
    assert item["state"] == "submitted" and item["kind"] == "document" and item["controls"] == [CONTROL]
    assert item["content"]["media_type"] == "application/pdf" and item["content"]["size"] == len(PDF)
    assert item["submitted_by"] == "officer token 1 (officer)"
    url = f"/v1/evidence-items/{item['id']}"

    own = client.post(f"{url}/approve", headers=auth(officer))
    assert own.status_code == 403
    assert own.json()["error"]["code"] == "forbidden"
    assert "cannot approve item 1: it is their own" in own.json()["error"]["message"]

    approved = client.post(f"{url}/approve", headers=auth(reviewer))
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    again = client.post(f"{url}/approve", headers=auth(reviewer))
    assert again.status_code == 409 and "is approved" in again.json()["error"]["message"]

    # Retracting is for the submitter or an admin; a reason is required.
    assert client.post(f"{url}/retract", json={"reason": "x"}, headers=auth(reviewer)).status_code == 403
    assert client.post(f"{url}/retract", json={}, headers=auth(officer)).status_code == 422
    retracted = client.post(f"{url}/retract", json={"reason": "replaced by the 2026 policy"}, headers=auth(officer))
    assert retracted.status_code == 200 and retracted.json()["state"] == "retracted"

    shown = client.get(url, headers=auth(admin)).json()
    assert [(e["state"], e["reason"]) for e in shown["events"]] == [
        ("submitted", None),
        ("approved", None),
        ("retracted", "replaced by the 2026 policy"),
    ]
    assert shown["events"][1]["actor"] == "officer token 2 (reviewer)"

    second = upload(client, officer, title="Second").json()
    rejected = client.post(
        f"/v1/evidence-items/{second['id']}/reject", json={"reason": "unsigned copy"}, headers=auth(admin)
    )
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"


def test_attestations_and_records_take_their_own_fields(client: TestClient, officer: str) -> None:
    attested = upload(
        client,
        officer,
        content=None,
        kind="attestation",
        statement="Every workforce member completed training in 2025.\nRecords are kept by HR.",
        statement_by="Dana Smith, Privacy Officer",
    )
    assert attested.status_code == 201, attested.text
    assert attested.json()["content"]["media_type"] == "text/plain"
    assert attested.json()["statement_by"] == "Dana Smith, Privacy Officer"
    with_file = upload(client, officer, kind="attestation", statement="x", statement_by="A, B")
    assert with_file.status_code == 400 and "takes no file" in with_file.json()["error"]["message"]
    no_url = upload(client, officer, kind="record", content=b"user,reviewed\nalice,yes\n", filename="review.csv")
    assert no_url.status_code == 400 and "needs url" in no_url.json()["error"]["message"]
    record = upload(
        client,
        officer,
        kind="record",
        url="https://jira.example.com/browse/SEC-12",
        content=b"user,reviewed\nalice,yes\nbob,no\n",
        filename="review.csv",
    )
    assert record.status_code == 201, record.text
    assert record.json()["content"]["media_type"] == "text/csv"
    assert record.json()["record_url"] == "https://jira.example.com/browse/SEC-12"
    missing_file = upload(client, officer, content=None)
    assert missing_file.status_code == 400 and "needs file" in missing_file.json()["error"]["message"]


def test_bad_fields_are_422_naming_the_field(client: TestClient, officer: str) -> None:
    late = upload(client, officer, valid_until="2027-01-31T00:00:00")  # no zone
    assert late.status_code == 422 and late.json()["error"]["details"][0]["loc"] == ["body", "valid_until"]
    unknown = upload(client, officer, colour="blue")
    assert unknown.status_code == 422 and unknown.json()["error"]["details"][0]["loc"] == ["body", "colour"]
    twice = upload(client, officer, title=["a", "b"])
    assert twice.status_code == 422 and "sent 2 times" in twice.json()["error"]["message"]
    bad_control = upload(client, officer, controls=["soc2:cc6.1"])
    assert bad_control.status_code == 400 and "nearest: soc2:CC6.1" in bad_control.json()["error"]["message"]
    day = upload(client, officer, valid_until="2099-01-31")
    assert day.status_code == 201 and day.json()["valid_until"] == "2099-01-31T00:00:00Z"


@pytest.mark.parametrize("content", [ELF, os.urandom(4096)], ids=["elf", "random"])
def test_unsupported_content_is_415_and_stores_nothing(
    client: TestClient, officer: str, engine: Engine, content: bytes
) -> None:
    response = upload(client, officer, content=content, filename="policy.pdf")  # the name says PDF; the bytes do not
    assert response.status_code == 415, response.text
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert _count(engine, Item.id) == 0 and _count(engine, Content.sha256) == 0


def test_file_names_are_stored_safely_and_shown_sanitised(client: TestClient, app: FastAPI, officer: str) -> None:
    traversal = upload(client, officer, filename="../../etc/passwd.pdf").json()
    assert traversal["content"]["filename"] == "passwd.pdf"
    long = upload(client, officer, filename="a" * 300 + ".pdf").json()
    assert len(long["content"]["filename"]) == 255 and long["content"]["filename"].endswith("….pdf")
    # A raw NUL and a bidirectional override in the multipart header (httpx would escape them).
    raw = post_streamed(
        app,
        "/v1/evidence-items",
        officer,
        [multipart_head(DOCUMENT_FIELDS, filename="rep\x00ort\u202e.pdf") + PDF + multipart_tail()],
    )
    assert raw.status == 201, raw.body
    item_id = int(raw.headers["location"].rsplit("/", 1)[1])
    shown = client.get(f"/v1/evidence-items/{item_id}", headers=auth(officer)).json()
    assert shown["content"]["filename"] == "report.pdf"
    download = client.get(f"/v1/evidence-items/{long['id']}/content", headers=auth(officer))
    disposition = download.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="aaaa') and "filename*=UTF-8''aaaa" in disposition
    assert "%E2%80%A6.pdf" in disposition and "/" not in disposition


def test_the_same_bytes_twice_are_stored_once(client: TestClient, officer: str, engine: Engine) -> None:
    first = upload(client, officer, title="Policy v1").json()
    second = upload(client, officer, title="Policy, again").json()
    assert first["id"] != second["id"]
    assert first["content"]["sha256"] == second["content"]["sha256"]
    assert _count(engine, Content.sha256) == 1


class _Recorder:
    """Spools that remember how many bytes were written to each, and whether it was closed."""

    def __init__(self) -> None:
        self.files: list[io.BufferedRandom] = []
        self.written: list[int] = []

    def __call__(self, directory: Any) -> Any:
        directory.mkdir(parents=True, exist_ok=True)
        real = uploads.tempfile.TemporaryFile(dir=directory)
        index = len(self.files)
        self.files.append(real)
        self.written.append(0)
        original = real.write

        def write(data: bytes) -> int:
            self.written[index] += len(data)
            return original(data)

        real.write = write  # type: ignore[method-assign]
        return real


def test_an_oversized_upload_is_refused_while_it_streams(
    make_app: Callable[..., FastAPI], officer: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit = 256 * 1024
    small = make_app(customer_policy=POLICY.__class__(known_controls=POLICY.known_controls, max_bytes=limit))
    recorder = _Recorder()
    monkeypatch.setattr(uploads, "spool", recorder)
    chunk = b"%PDF-1.7\n" + b"0" * (64 * 1024 - 9)
    total_chunks = 160  # 10 MiB offered

    def body() -> Iterator[bytes]:
        yield multipart_head(DOCUMENT_FIELDS)
        for _ in range(total_chunks):
            yield chunk
        yield multipart_tail()

    result = post_streamed(small, "/v1/evidence-items", officer, body())
    assert result.status == 413, result.body
    assert b"payload_too_large" in result.body and b"AUDITPACK_EVIDENCE_MAX_BYTES" in result.body
    # Refused right after the limit: the rest of the body was never read, and no more than the limit hit the disk.
    assert result.chunks_read <= limit // len(chunk) + 3 < total_chunks
    assert recorder.written and max(recorder.written) <= limit
    assert all(spooled.closed for spooled in recorder.files)
    assert _count(engine, Item.id) == 0


def test_a_declared_oversized_body_is_refused_before_reading(client: TestClient, officer: str, engine: Engine) -> None:
    headers = {**auth(officer), "content-type": "multipart/form-data; boundary=x", "content-length": str(2**40)}
    response = client.post("/v1/evidence-items", content=b"--x--\r\n", headers=headers)
    assert response.status_code == 413
    # The small body limit of other routes does not apply to uploads: 200 KiB is fine here.
    assert upload(client, officer, content=PDF + b"0" * 200_000).status_code == 201


def test_an_upload_cut_off_midway_leaves_nothing(
    app: FastAPI, client: TestClient, officer: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = _Recorder()
    monkeypatch.setattr(uploads, "spool", recorder)
    chunks = [multipart_head(DOCUMENT_FIELDS), PDF, b"0" * 65536, b"0" * 65536, multipart_tail()]
    gone = post_streamed(app, "/v1/evidence-items", officer, chunks, disconnect_after=3)
    assert gone.status == 400 and b"went away" in gone.body
    truncated = multipart_head(DOCUMENT_FIELDS) + PDF  # no closing boundary
    headers = {**auth(officer), "content-type": "multipart/form-data; boundary=auditpack-test-boundary"}
    short = client.post("/v1/evidence-items", content=truncated, headers=headers)
    assert short.status_code == 400 and "closing boundary" in short.json()["error"]["message"]
    assert len(recorder.files) == 2 and all(spooled.closed for spooled in recorder.files)
    assert _count(engine, Item.id) == 0 and _count(engine, Content.sha256) == 0
    assert client.get("/v1/evidence-items", headers=auth(officer)).json()["items"] == []


def test_the_content_streams_with_its_type_and_is_logged_first(
    client: TestClient, officer: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = PDF + os.urandom(3 * 1024 * 1024)  # several store chunks
    item = upload(client, officer, content=big).json()
    url = f"/v1/evidence-items/{item['id']}/content"
    with client.stream("GET", url, headers=auth(officer)) as response:
        assert response.status_code == 200
        received = b"".join(response.iter_bytes())
    assert received == big
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-length"] == str(len(big))
    assert response.headers["x-content-sha256"] == item["content"]["sha256"]
    with session_factory(engine)() as session:
        entry = session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.seq.desc())).first()
    assert entry is not None and entry.action == "download.customer_evidence"
    assert entry.sha256 == item["content"]["sha256"] and entry.bytes_sent == len(big) and entry.path == url
    assert client.get(url, headers={**auth(officer), "if-none-match": f'"{entry.sha256}"'}).status_code == 304

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise OperationalError("INSERT", {}, Exception("disk full"))

    monkeypatch.setattr(access_log, "append", refuse)
    unlogged = client.get(url, headers=auth(officer))
    assert unlogged.status_code == 503 and unlogged.headers["content-type"] == "application/json"
    assert "was not served" in unlogged.json()["error"]["message"]


def test_auditors_read_only_the_items_their_packet_lists(
    client: TestClient, officer: str, reviewer: str, engine: Engine, builder: SigningBuilder
) -> None:
    listed = upload(client, officer, title="Listed").json()
    other = upload(client, officer, title="Not listed").json()
    packet = request_ready_packet(client, officer, as_of="2026-01-01")
    with session_factory(engine)() as session:
        issued = grants.create_grant(
            session, packet_id=packet["id"], lifetime=timedelta(days=3), note="Acme", created_by="t", now=utcnow()
        )
    auditor = auth(issued.secret)
    # The packet lists nothing yet: the auditor sees no customer evidence at all.
    assert client.get("/v1/evidence-items", headers=auditor).json() == {"items": [], "next_cursor": None}
    assert client.get(f"/v1/evidence-items/{listed['id']}", headers=auditor).status_code == 404
    assert client.get(f"/v1/evidence-items/{listed['id']}/content", headers=auditor).status_code == 404

    with session_factory(engine).begin() as session:
        session.get(Packet, packet["id"]).customer_item_ids = [listed["id"]]
    assert [i["id"] for i in client.get("/v1/evidence-items", headers=auditor).json()["items"]] == [listed["id"]]
    assert client.get(f"/v1/evidence-items/{listed['id']}", headers=auditor).status_code == 200
    content = client.get(f"/v1/evidence-items/{listed['id']}/content", headers=auditor)
    assert content.status_code == 200 and content.content == PDF
    assert client.get(f"/v1/evidence-items/{other['id']}", headers=auditor).status_code == 404
    # Auditors only read: every write is a 404 to them, as elsewhere.
    assert client.post(f"/v1/evidence-items/{listed['id']}/approve", headers=auditor).status_code == 404
    assert upload(client, issued.secret).status_code == 404

    # A packet built with customer evidence records what it lists when its job finishes.
    builder.customer_item_ids = (other["id"],)
    built = request_ready_packet(client, officer, as_of="2026-01-02")
    with session_factory(engine)() as session:
        assert session.get(Packet, built["id"]).customer_item_ids == [other["id"]]


def test_idempotency_keys_replay_uploads_and_reviews(
    client: TestClient, officer: str, reviewer: str, engine: Engine
) -> None:
    key = {"Idempotency-Key": "upload-1"}
    first = upload(client, officer, headers=key)
    replay = upload(client, officer, headers=key)
    assert first.status_code == replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true" and replay.json()["id"] == first.json()["id"]
    assert _count(engine, Item.id) == 1
    other = upload(client, officer, content=PDF + b"\n% changed\n", headers=key)
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    # A failed request frees its key: the same key with a corrected request then succeeds.
    failed = upload(client, officer, controls=["soc2:nope"], headers={"Idempotency-Key": "k2"})
    assert failed.status_code == 400
    assert upload(client, officer, headers={"Idempotency-Key": "k2"}).status_code == 201

    url = f"/v1/evidence-items/{first.json()['id']}/approve"
    review_key = {**auth(reviewer), "Idempotency-Key": "approve-1"}
    approved = client.post(url, headers=review_key)
    repeated = client.post(url, headers=review_key)
    assert approved.status_code == repeated.status_code == 200
    assert repeated.headers["idempotent-replayed"] == "true" and repeated.json()["state"] == "approved"
    assert client.post(url, headers=auth(reviewer)).status_code == 409  # without the key: a second approval


def test_lists_filter_and_page_with_signed_cursors(client: TestClient, officer: str, reviewer: str) -> None:
    ids = [upload(client, officer, title=f"Item {n}", content=PDF + str(n).encode()).json()["id"] for n in range(3)]
    upload(client, officer, content=None, kind="attestation", statement="All good.", statement_by="A, B")
    client.post(f"/v1/evidence-items/{ids[1]}/approve", headers=auth(reviewer))
    headers = auth(officer)
    first = client.get("/v1/evidence-items", params={"limit": 2}, headers=headers).json()
    assert [i["id"] for i in first["items"]] == ids[:2] and first["next_cursor"]
    second = client.get(
        "/v1/evidence-items", params={"limit": 2, "cursor": first["next_cursor"]}, headers=headers
    ).json()
    assert [i["id"] for i in second["items"]] == [ids[2], ids[2] + 1] and second["next_cursor"] is None

    def listed(**params: str) -> list[int]:
        response = client.get("/v1/evidence-items", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert listed(state="approved") == [ids[1]]
    assert listed(kind="attestation") == [ids[2] + 1]
    assert listed(control=CONTROL) == [*ids, ids[2] + 1]
    assert listed(expiring_within="400d") == [ids[1]] and listed(expiring_within="30d") == []
    assert listed(as_of="2020-01-01") == []
    assert client.get("/v1/evidence-items", params={"expiring_within": "30 days"}, headers=headers).status_code == 422
    altered = first["next_cursor"][:-2] + ("AA" if not first["next_cursor"].endswith("AA") else "BB")
    bad = client.get("/v1/evidence-items", params={"limit": 2, "cursor": altered}, headers=headers)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_cursor"
    other_query = client.get(
        "/v1/evidence-items", params={"limit": 2, "state": "approved", "cursor": first["next_cursor"]}, headers=headers
    )
    assert other_query.status_code == 400
