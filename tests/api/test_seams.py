"""The findings and frameworks routes, mounted when a source is wired (and absent otherwise)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import auth
from tests.api.sources import ListFindings, OneFramework


def test_without_sources_the_routes_are_not_mounted(client: TestClient, officer: str) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not any(path.startswith(("/v1/findings", "/v1/frameworks")) for path in paths)
    assert client.get("/v1/findings", headers=auth(officer)).status_code == 404


def test_findings_filter_and_paginate(make_app, officer: str) -> None:
    with TestClient(make_app(findings_source=ListFindings())) as client:
        seen, cursor = [], None
        while True:
            params = {"check": "s3_bucket_encryption", "limit": 4, **({"cursor": cursor} if cursor else {})}
            page = client.get("/v1/findings", params=params, headers=auth(officer)).json()
            seen += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert [f["id"] for f in seen] == list(range(25, 0, -2))
        assert {f["check_id"] for f in seen} == {"s3_bucket_encryption"}
        failing = client.get("/v1/findings", params={"status": "fail", "service": "iam"}, headers=auth(officer))
        assert [f["id"] for f in failing.json()["items"]] == [24, 18, 12, 6]
        forged = client.get("/v1/findings", params={"cursor": "not-a-cursor"}, headers=auth(officer))
        assert forged.status_code == 400 and "not one this API issued" in forged.json()["error"]["message"]
        first = client.get("/v1/findings", params={"limit": 2}, headers=auth(officer)).json()
        other_query = client.get(
            "/v1/findings", params={"limit": 2, "status": "pass", "cursor": first["next_cursor"]}, headers=auth(officer)
        )
        assert other_query.status_code == 400
        assert "different filters" in other_query.json()["error"]["message"]


def test_frameworks_controls_and_status(make_app, officer: str) -> None:
    with TestClient(make_app(frameworks_source=OneFramework())) as client:
        listed = client.get("/v1/frameworks", headers=auth(officer)).json()["items"]
        assert listed == [
            {
                "id": "hipaa",
                "name": "HIPAA Security Rule",
                "version": "2013",
                "publisher": "HHS",
                "description": "",
                "control_count": 1,
            }
        ]
        controls = client.get("/v1/frameworks/hipaa/controls", headers=auth(officer)).json()
        assert controls["items"][0]["id"] == "164.312(a)(2)(iv)"
        assert controls["items"][0]["checks"][0]["id"] == "s3_bucket_encryption"
        status = client.get(
            "/v1/frameworks/hipaa/status", params={"as_of": "2026-11-01T00:00:00Z"}, headers=auth(officer)
        ).json()
        assert status["as_of"] == "2026-11-01T00:00:00Z"
        assert status["controls"][0]["status"] == "fail"
        assert status["controls"][0]["checks"][0] == {
            "check_id": "s3_bucket_encryption",
            "title": "S3 buckets are encrypted",
            "severity": "high",
            "passed": 3,
            "failed": 1,
            "errors": 0,
            "not_applicable": 0,
            "stale": 0,
        }
        missing = client.get("/v1/frameworks/iso27001/controls", headers=auth(officer))
        assert missing.status_code == 404 and "iso27001" in missing.json()["error"]["message"]
