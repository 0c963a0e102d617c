"""End to end over real HTTP: uvicorn on a free loopback port, an httpx client, the CLI for the token.

An officer token from `auditpack token create`, a collection and a packet request through the API, the build
in the background, a grant, the auditor's download and verification, and the download in the access log.
(When the collectors and reports parts are merged, the same flow runs with the real collector against
moto_server and the real PDF builder.)
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import auth, wait_for
from tests.api.live import free_port, serve

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_officer_to_auditor_over_http(make_app, builder, cli_env, run_cli) -> None:  # type: ignore[no-untyped-def]
    created = run_cli("token", "create", "--role", "officer", "--expires", "1d", "--note", "e2e", "--format", "json")
    assert created.code == 0, created
    officer = json.loads(created.stdout)["token"]
    with serve(make_app()) as base, httpx.Client(base_url=base, timeout=30) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        assert http.get("/readyz").json() == {"status": "ready", "database": "ok"}

        job = http.post("/v1/runs", json={"regions": ["us-east-1"]}, headers=auth(officer)).json()
        done = wait_for(
            lambda: (j := http.get(f"/v1/jobs/{job['id']}", headers=auth(officer)).json())["status"] == "done" and j
        )
        run_id = done["run_id"]
        builder.run_ids = (run_id,)  # the packet rests on that run (the real builder reports the runs it used)

        requested = http.post(
            "/v1/packets",
            json={"framework": "hipaa", "scope": {"accounts": ["111111111111"]}},
            headers={**auth(officer), "Idempotency-Key": "e2e-1"},
        )
        assert requested.status_code == 202
        packet_id = requested.json()["id"]
        packet = wait_for(
            lambda: (p := http.get(f"/v1/packets/{packet_id}", headers=auth(officer)).json())["status"] == "ready" and p
        )

        granted = http.post(
            f"/v1/packets/{packet_id}/grants",
            json={"expires_in_days": 14, "note": "External auditor"},
            headers=auth(officer),
        ).json()
        auditor = auth(granted["token"])
        with http.stream("GET", f"/v1/packets/{packet_id}/pdf", headers=auditor) as response:
            assert response.status_code == 200
            assert response.headers["content-length"] == str(packet["pdf"]["size"])
            body = b"".join(response.iter_bytes())
        assert hashlib.sha256(body).hexdigest() == packet["pdf"]["sha256"] == response.headers["x-content-sha256"]
        verification = http.get(f"/v1/packets/{packet_id}/verify", headers=auditor).json()
        assert verification["ok"] is True
        assert http.get(f"/v1/runs/{run_id}", headers=auditor).json()["evidence_count"] == 3
        evidence = http.get("/v1/evidence", headers=auditor).json()["items"]
        assert len(evidence) == 3 and {e["run_id"] for e in evidence} == {run_id}
        assert http.get("/v1/jobs", headers=auditor).status_code == 404

        log = http.get(f"/v1/packets/{packet_id}/access-log", headers=auth(officer)).json()["items"]
        downloads = [e for e in log if e["action"] == "download.pdf"]
        assert len(downloads) == 1
        assert downloads[0]["token_id"] == granted["token_id"]
        assert downloads[0]["client"] == "127.0.0.1"
        assert downloads[0]["sha256"] == packet["pdf"]["sha256"] and downloads[0]["bytes_sent"] == len(body)
        assert http.get("/v1/access-log/verify", headers=auth(officer)).json()["intact"] is True
        metrics = http.get("/metrics", headers=auth(officer)).text
        assert 'auditpack_downloads_total{file="pdf",outcome="complete"} 1.0' in metrics
        assert 'auditpack_packets{status="ready"} 1.0' in metrics


def test_auditpack_serve_starts_and_answers(cli_env) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    env = {**os.environ, **cli_env, "AUDITPACK_SCHEDULE": ""}
    process = subprocess.Popen(
        [sys.executable, "-m", "auditpack", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                ready = httpx.get(f"{base}/readyz", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "auditpack serve did not start"
                time.sleep(0.2)
        assert ready.json() == {"status": "ready", "database": "ok"}
        assert "server" not in ready.headers
        assert httpx.get(f"{base}/v1/packets").status_code == 401
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    # uvicorn shuts down gracefully, then re-raises the signal it caught (exit status -SIGTERM).
    assert process.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
