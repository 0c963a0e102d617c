"""Under concurrent load the API answers, or sheds with 503 + Retry-After at once; it never turns into 500s.

The app is the one `auditpack serve` builds (settings -> engine -> pool), served by uvicorn on loopback, so the
pool, the threadpool and the real findings and status sources are the production ones. Issue 11: 16 parallel
evidence fetches used to take two pooled connections each (the authentication session's, then the access log's),
exhaust the pool between them and wait out its 30 s timeout into 500s.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from api.models import Packet, Role
from auditpack.api_wiring import build_app
from auditpack.settings import load_settings
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import Finding, FindingStatus
from evidence.db import session_factory
from evidence.findings import save_findings
from evidence.store import EvidenceStore
from tests.api.conftest import auth, issue
from tests.api.live import serve

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Seeded:
    token: str
    sha256: str  # an evidence payload
    packet_id: str  # a ready packet with a PDF and a bundle


def seed(store: EvidenceStore, engine: Engine, data_dir: Path) -> Seeded:
    """A sealed run with evidence and findings, a ready packet with its files, an officer token."""
    run = store.start_run(trigger="cli", requested_by="test", scope={})
    start = datetime.now(UTC) - timedelta(hours=1)
    with store.recorder(run.id) as recorder:
        for index in range(40):
            recorder.add(
                account_id="111111111111",
                region="us-east-1",
                service="s3",
                resource_type="bucket",
                resource_id=f"arn:aws:s3:::bucket-{index}",
                kind="s3.bucket_encryption",
                payload={"bucket": f"bucket-{index}", "encrypted": index % 3 != 0},
                observed_at=start + timedelta(seconds=index),
            )
    store.finish_run(run.id)
    save_findings(
        store,
        run.id,
        [
            Finding(
                check_id="s3.default_encryption",
                status=FindingStatus.PASS if index % 3 else FindingStatus.FAIL,
                account_id="111111111111",
                region="us-east-1",
                resource_id=f"arn:aws:s3:::bucket-{index}",
                reason="test",
                evidence=(),
                observed_at=start,
                resource_type="bucket",
            )
            for index in range(40)
        ],
        thresholds=Thresholds(),
    )
    shas = [record.sha256 for record in store.iter_evidence(run.id)]  # read whole: the session closes
    packet_id = str(uuid.uuid4())
    folder = data_dir / "packets" / packet_id
    folder.mkdir(parents=True)
    files = {}
    for name, size in (("packet.pdf", 300_000), ("bundle.zip", 100_000)):
        data = (hashlib.sha256(name.encode()).digest() * (size // 32 + 1))[:size]
        (folder / name).write_bytes(data)
        files[name] = (f"packets/{packet_id}/{name}", hashlib.sha256(data).hexdigest(), size)
    now = datetime.now(UTC)
    with session_factory(engine).begin() as session:
        session.add(
            Packet(
                id=packet_id,
                framework="hipaa",
                scope={},
                requested_by="test",
                request_sha256="0" * 64,
                status="ready",
                run_ids=[run.id],
                pdf_path=files["packet.pdf"][0],
                pdf_sha256=files["packet.pdf"][1],
                pdf_size=files["packet.pdf"][2],
                bundle_path=files["bundle.zip"][0],
                bundle_sha256=files["bundle.zip"][1],
                bundle_size=files["bundle.zip"][2],
                created_at=now,
                finished_at=now,
            )
        )
    return Seeded(token=issue(engine, Role.OFFICER)[1], sha256=shas[0], packet_id=packet_id)


@pytest.fixture
def served(
    cli_env: dict[str, str], store: EvidenceStore, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., tuple[FastAPI, Seeded]]]:
    """Build the `auditpack serve` app from settings (extra AUDITPACK_* values as keyword arguments)."""
    monkeypatch.setenv("AUDITPACK_SCHEDULE", "")
    built: list[FastAPI] = []

    def make(**env: str) -> tuple[FastAPI, Seeded]:
        for name, value in env.items():
            monkeypatch.setenv(f"AUDITPACK_{name.upper()}", value)
        settings = load_settings()
        seeded = seed(store, engine, settings.data_dir)
        app = build_app(settings, run_background=False)
        built.append(app)
        return app, seeded

    yield make
    for app in built:
        app.state.context.engine.dispose()


def _parallel(base: str, paths: list[str], token: str) -> list[tuple[str, httpx.Response, float]]:
    """GET every path at once (a barrier releases them together); (path, response, seconds) each."""
    barrier = threading.Barrier(len(paths))

    def get(path: str) -> tuple[str, httpx.Response, float]:
        with httpx.Client(base_url=base, timeout=120) as http:
            barrier.wait()
            started = time.monotonic()
            response = http.get(path, headers=auth(token))
            response.read()
            return path, response, time.monotonic() - started

    with ThreadPoolExecutor(len(paths)) as pool:
        return list(pool.map(get, paths))


def test_sixteen_parallel_evidence_fetches_all_succeed(served) -> None:  # type: ignore[no-untyped-def]
    app, seeded = served()
    with serve(app) as base:
        results = _parallel(base, [f"/v1/evidence/{seeded.sha256}"] * 16, seeded.token)
    statuses = Counter(response.status_code for _, response, _ in results)
    assert statuses == {200: 16}, [(r.status_code, r.text[:200]) for _, r, _ in results if r.status_code != 200]
    assert all(hashlib.sha256(r.content).hexdigest() == seeded.sha256 for _, r, _ in results)
    assert max(seconds for _, _, seconds in results) < 10


def test_sixty_four_parallel_requests_across_routes_get_no_server_error(served) -> None:  # type: ignore[no-untyped-def]
    app, seeded = served()
    routes = [
        "/v1/evidence?limit=20",
        "/v1/findings?limit=20",
        "/v1/runs",
        "/v1/packets",
        "/v1/frameworks/hipaa/status",
        f"/v1/evidence/{seeded.sha256}",
        f"/v1/packets/{seeded.packet_id}/pdf",
        f"/v1/packets/{seeded.packet_id}/bundle",
    ]
    with serve(app) as base:
        results = _parallel(base, routes * 8, seeded.token)
    failed = [(path, r.status_code, r.text[:200]) for path, r, _ in results if r.status_code != 200]
    assert failed == []
    pdf = [r for path, r, _ in results if path.endswith("/pdf")]
    assert {r.headers["x-content-sha256"] for r in pdf} == {hashlib.sha256(pdf[0].content).hexdigest()}


def test_every_route_works_with_a_single_pooled_connection(served) -> None:  # type: ignore[no-untyped-def]
    """One connection per request, structurally: a request that took a second connection while holding its
    first would wait for itself here, and be shed as 503."""
    app, seeded = served(db_pool_size="1", db_max_overflow="0", db_pool_timeout="2")
    routes = [
        "/v1/evidence?limit=5",
        "/v1/findings?limit=5",
        "/v1/runs",
        "/v1/packets",
        f"/v1/packets/{seeded.packet_id}",
        f"/v1/packets/{seeded.packet_id}/verify",
        f"/v1/packets/{seeded.packet_id}/access-log",
        "/v1/frameworks/hipaa/status",
        f"/v1/evidence/{seeded.sha256}",
        f"/v1/packets/{seeded.packet_id}/pdf",
        f"/v1/packets/{seeded.packet_id}/bundle",
        "/v1/access-log/verify",
        "/v1/jobs",
        "/metrics",
    ]
    with serve(app) as base, httpx.Client(base_url=base, timeout=30, headers=auth(seeded.token)) as http:
        for path in routes:
            response = http.get(path)
            assert response.status_code == 200, (path, response.text[:300])


def test_an_exhausted_pool_sheds_with_503_and_retry_after_quickly(served) -> None:  # type: ignore[no-untyped-def]
    app, seeded = served(db_pool_size="1", db_max_overflow="0", db_pool_timeout="0.5")
    engine = app.state.context.engine
    with serve(app) as base, httpx.Client(base_url=base, timeout=30, headers=auth(seeded.token)) as http:
        with engine.connect():  # someone else holds the only connection
            started = time.monotonic()
            shed = [http.get(path) for path in ("/v1/runs", f"/v1/evidence/{seeded.sha256}", "/v1/findings")]
            elapsed = time.monotonic() - started
        for response in shed:
            assert response.status_code == 503, response.text
            assert int(response.headers["retry-after"]) >= 1
            assert response.json()["error"]["code"] == "overloaded"
        assert elapsed < 5  # three pool timeouts of 0.5 s, not three of 30 s
        assert http.get("/v1/runs").status_code == 200  # and it recovers as soon as a connection is free


def test_admission_control_sheds_excess_requests_early(served) -> None:  # type: ignore[no-untyped-def]
    """With one request admitted at a time and no queueing, a burst gets 200s and 503s, never a 500."""
    app, seeded = served(api_max_concurrent_requests="1", api_queue_timeout="0")
    with serve(app) as base:
        results = _parallel(base, ["/v1/frameworks/hipaa/status"] * 12, seeded.token)
    statuses = Counter(response.status_code for _, response, _ in results)
    assert set(statuses) <= {200, 503} and statuses[200] >= 1 and statuses[503] >= 1, statuses
    for _, response, seconds in results:
        if response.status_code == 503:
            assert response.headers["retry-after"] == "1" and response.json()["error"]["code"] == "overloaded"
            assert seconds < 2
