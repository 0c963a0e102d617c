"""End to end over real HTTP with the real components: uvicorn on a free loopback port, an httpx client, the app
as `auditpack serve` builds it (collector, packet builder and verifier of auditpack), AWS in moto_server.

An officer token from `auditpack token create`; a collection through the API against moto_server; findings and
control status from it; a packet request, built in the background (WeasyPrint, pyHanko); a grant; the auditor's
download, checked with pyHanko and `reports.verify`; the download in the access log. Then `auditpack serve` as
a subprocess on its embedded defaults (SQLite in the working directory), collecting on request.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from auditpack.api_executors import Verifier
from auditpack.api_wiring import build_app
from auditpack.settings import load_settings
from reports.localca import local_ca_certificate
from reports.oscal import NS
from reports.verify import load_trust_roots, verify_file
from tests.api.conftest import auth, wait_for
from tests.api.estate import REGION, build_small_estate
from tests.api.live import free_port, serve
from tests.moto_server import MotoServer, fake_aws_env

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def _settled(http: httpx.Client, path: str, headers: dict[str, str], *, done: str, timeout: float) -> dict[str, Any]:
    """Poll `path` until its status is `done` (or failed: then fail with what the API says)."""

    def check() -> dict[str, Any] | None:
        body = http.get(path, headers=headers).json()
        assert body["status"] not in ("failed", "interrupted"), body
        return body if body["status"] == done else None

    return wait_for(check, timeout=timeout, interval=0.2)  # type: ignore[no-any-return]


def test_officer_to_auditor_with_the_real_components(  # type: ignore[no-untyped-def]
    moto_server: MotoServer, cli_env, run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    moto_server.reset()
    monkeypatch.setenv("AUDITPACK_SCHEDULE", "")
    monkeypatch.setenv("AUDITPACK_ORG_NAME", "E2E Clinic")
    created = run_cli("token", "create", "--role", "officer", "--expires", "1d", "--note", "e2e", "--format", "json")
    assert created.code == 0, created
    officer = auth(json.loads(created.stdout)["token"])
    with fake_aws_env(AWS_ENDPOINT_URL=moto_server.url):  # boto3 in the server's job threads talks to moto_server
        estate = build_small_estate(boto3.Session(region_name=REGION))
        settings = load_settings()
        app = build_app(settings)
        with serve(app) as base, httpx.Client(base_url=base, timeout=30) as http:
            assert http.get("/readyz").json() == {"status": "ready", "database": "ok", "data_dir": "ok"}

            # -- a collection through the API -----------------------------------------------------------------
            started = http.post("/v1/runs", json={"regions": [REGION]}, headers=officer)
            assert started.status_code == 202, started.text
            job = _settled(http, f"/v1/jobs/{started.json()['id']}", officer, done="done", timeout=60)
            run = http.get(f"/v1/runs/{job['run_id']}", headers=officer).json()
            assert run["trigger"] == "api" and run["requested_by"] == "officer token 1 (e2e)"
            assert run["status"] == "partial" and run["evidence_count"] > 0  # moto lacks some SSM calls: gaps
            assert {(g["service"], g["error_code"]) for g in run["gaps"]} >= {("ssm", "HTTP500")}

            encryption = http.get("/v1/findings", params={"check": "s3.default_encryption"}, headers=officer).json()
            assert encryption["run_id"] == run["id"]
            verdicts = {f["resource_id"]: f["status"] for f in encryption["items"]}
            assert verdicts == {
                f"arn:aws:s3:::{estate.secure_bucket}": "pass",
                f"arn:aws:s3:::{estate.plain_bucket}": "fail",
            }
            failing = http.get("/v1/findings", params={"status": "fail", "account": estate.account}, headers=officer)
            assert {"iam.password_policy_strong", "iam.user_mfa_enabled", "s3.default_encryption"} <= {
                f["check_id"] for f in failing.json()["items"]
            }
            status = http.get("/v1/frameworks/hipaa/status", headers=officer).json()
            assert [r["id"] for r in status["runs"]] == [run["id"]] and status["by_status"].get("not_met", 0) > 0

            # -- a packet: refused without evidence, built with it ----------------------------------------------
            early = http.post("/v1/packets", json={"framework": "hipaa", "as_of": "2001-01-01"}, headers=officer)
            assert early.status_code == 409 and "no complete or partial evidence run" in early.text
            requested = http.post(
                "/v1/packets", json={"framework": "hipaa"}, headers={**officer, "Idempotency-Key": "e2e-hipaa"}
            )
            assert requested.status_code == 202, requested.text
            packet_id = requested.json()["id"]
            packet = _settled(http, f"/v1/packets/{packet_id}", officer, done="ready", timeout=120)
            assert packet["signer"]["self_signed"] is True and packet["pages"] > 1

            # -- an auditor, through a grant --------------------------------------------------------------------
            granted = http.post(
                f"/v1/packets/{packet_id}/grants", json={"expires_in_days": 14, "note": "Acme LLP"}, headers=officer
            ).json()
            auditor = auth(granted["token"])
            with http.stream("GET", f"/v1/packets/{packet_id}/pdf", headers=auditor) as response:
                assert response.status_code == 200
                assert response.headers["content-length"] == str(packet["pdf"]["size"])
                pdf = b"".join(response.iter_bytes())
            assert hashlib.sha256(pdf).hexdigest() == packet["pdf"]["sha256"] == response.headers["x-content-sha256"]
            # The packet's OSCAL assessment results, from its bundle: the signed bytes, for the granted auditor
            oscal = http.get(f"/v1/packets/{packet_id}/oscal/assessment-results", headers=auditor)
            assert oscal.status_code == 200, oscal.text
            with zipfile.ZipFile(settings.data_dir / "packets" / packet_id / "bundle.zip") as bundle:
                assert oscal.content == bundle.read("oscal/assessment-results.json")
            metadata = oscal.json()["assessment-results"]["metadata"]
            assert {"name": "packet-id", "ns": NS, "value": packet_id} in metadata["props"]
            checked = http.get(f"/v1/packets/{packet_id}/verify", headers=auditor).json()
            assert checked["ok"] is True and checked["signatures_checked"] is True
            assert [f["signature"]["trusted"] for f in checked["files"]] == [True, True]
            assert http.get(f"/v1/runs/{run['id']}", headers=auditor).status_code == 200  # the packet's run
            for hidden in ("/v1/findings", "/v1/frameworks", "/v1/frameworks/hipaa/status", "/v1/jobs"):
                assert http.get(hidden, headers=auditor).status_code == 404, hidden

            log = http.get(f"/v1/packets/{packet_id}/access-log", headers=officer).json()["items"]
            downloads = [e for e in log if e["action"] == "download.pdf"]
            assert len(downloads) == 1
            assert [e["path"] for e in log if e["action"] == "download.oscal"] == [
                f"/v1/packets/{packet_id}/oscal/assessment-results"
            ]
            assert downloads[0]["token_id"] == granted["token_id"] and downloads[0]["role"] == "auditor"
            assert downloads[0]["sha256"] == packet["pdf"]["sha256"] and downloads[0]["bytes_sent"] == len(pdf)
            assert downloads[0]["client"] == "127.0.0.1"
            assert http.get("/v1/access-log/verify", headers=officer).json()["intact"] is True
            metrics = http.get("/metrics", headers=officer).text
            assert 'auditpack_downloads_total{file="pdf",outcome="complete"} 1.0' in metrics
        app.state.context.engine.dispose()

    # -- the downloaded PDF, checked offline: pyHanko directly, and auditpack's verifier -----------------------
    ca = local_ca_certificate(settings.data_dir)
    assert ca is not None
    signature = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    validity = validate_pdf_signature(
        signature, ValidationContext(trust_roots=load_trust_roots([ca]), allow_fetching=False)
    )
    assert (validity.intact, validity.valid, validity.trusted) == (True, True, True)
    assert validity.coverage == SignatureCoverageLevel.ENTIRE_FILE
    saved = tmp_path / "downloaded.pdf"
    saved.write_bytes(pdf)
    verified = verify_file(saved, trust=[ca])
    assert verified.ok, verified.problems
    assert verified.packet_id == packet_id and verified.evidence_checked > 0
    # The API's verifier trusts AUDITPACK_TRUST_ROOTS, and the local CA only where it lives (its data dir).
    elsewhere = tmp_path / "elsewhere"
    untrusted = Verifier(load_settings(data_dir=elsewhere))(saved)
    assert (untrusted.intact, untrusted.valid, untrusted.trusted) == (True, True, False)
    assert any("no trust root was given" in problem for problem in untrusted.problems)
    assert Verifier(load_settings(data_dir=elsewhere, trust_roots=[ca]))(saved).ok


def _auditpack(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditpack", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_auditpack_serve_on_its_embedded_defaults_collects_on_request(
    moto_server: MotoServer, tmp_path: Path, sqlite_only
) -> None:  # type: ignore[no-untyped-def]
    moto_server.reset()
    env = {k: v for k, v in moto_server.env().items() if not k.startswith("AUDITPACK_")}
    env["AUDITPACK_SCHEDULE"] = ""  # no catch-up capture at start-up: the test decides when to collect
    created = _auditpack(tmp_path, env, "token", "create", "--role", "officer", "--format", "json")
    assert created.returncode == 0, created.stderr
    officer = auth(json.loads(created.stdout)["token"])
    assert (tmp_path / "auditpack.db").is_file()  # the embedded default database, in the working directory

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "auditpack", "serve", "--port", str(port)],
        cwd=tmp_path,
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
        assert ready.json() == {"status": "ready", "database": "ok", "data_dir": "ok"} and "server" not in ready.headers
        assert httpx.get(f"{base}/v1/packets").status_code == 401
        with httpx.Client(base_url=base, timeout=30) as http:
            started = http.post("/v1/runs", json={"regions": [REGION]}, headers=officer)
            assert started.status_code == 202, started.text
            job = _settled(http, f"/v1/jobs/{started.json()['id']}", officer, done="done", timeout=60)
            run = http.get(f"/v1/runs/{job['run_id']}", headers=officer).json()
            assert run["status"] in ("complete", "partial") and run["evidence_count"] > 0 and run["digest"]
            assert http.get("/v1/findings", params={"limit": 1}, headers=officer).json()["run_id"] == run["id"]
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    # uvicorn shuts down gracefully, then re-raises the signal it caught (exit status -SIGTERM).
    assert process.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    assert os.path.isdir(tmp_path / "auditpack-data")  # the embedded default data directory
