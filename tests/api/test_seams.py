"""The findings and frameworks routes, mounted when a source is wired (and absent otherwise)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import auth
from tests.api.sources import ListFindings, OneFramework, findings


def test_without_sources_the_routes_are_not_mounted(client: TestClient, officer: str) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not any(path.startswith(("/v1/findings", "/v1/frameworks")) for path in paths)
    assert client.get("/v1/findings", headers=auth(officer)).status_code == 404


def _walk(client: TestClient, officer: str, **params: object) -> tuple[list[dict], set[int | None]]:
    """Every page of a findings query: the items, and the run ids the pages named."""
    seen, runs, cursor = [], set(), None
    while True:
        page = client.get(
            "/v1/findings", params={**params, **({"cursor": cursor} if cursor else {})}, headers=auth(officer)
        ).json()
        seen += page["items"]
        runs.add(page["run_id"])
        cursor = page["next_cursor"]
        if cursor is None:
            return seen, runs


def test_findings_of_the_latest_run_filter_and_paginate(make_app, officer: str) -> None:
    source = ListFindings()
    with TestClient(make_app(findings_source=source)) as client:
        seen, runs = _walk(client, officer, check="s3.default_encryption", limit=4)
        assert runs == {2}  # the latest run, by default
        assert [f["id"] for f in seen] == list(range(11, 36, 2))
        assert {f["check_id"] for f in seen} == {"s3.default_encryption"} and {f["run_id"] for f in seen} == {2}
        older, runs = _walk(client, officer, run_id=1, limit=3)
        assert [f["id"] for f in older] == list(range(1, 11)) and runs == {1}
        failing = client.get("/v1/findings", params={"status": "fail", "service": "iam"}, headers=auth(officer))
        assert [f["id"] for f in failing.json()["items"]] == [16, 22, 28, 34]
        forged = client.get("/v1/findings", params={"cursor": "not-a-cursor"}, headers=auth(officer))
        assert forged.status_code == 400 and "not one this API issued" in forged.json()["error"]["message"]
        first = client.get("/v1/findings", params={"limit": 2}, headers=auth(officer)).json()
        other_query = client.get(
            "/v1/findings", params={"limit": 2, "status": "pass", "cursor": first["next_cursor"]}, headers=auth(officer)
        )
        assert other_query.status_code == 400
        assert "different filters" in other_query.json()["error"]["message"]
        missing = client.get("/v1/findings", params={"run_id": 9}, headers=auth(officer))
        assert missing.status_code == 404 and "run 9" in missing.json()["error"]["message"]


def test_a_run_finishing_mid_listing_does_not_mix_into_the_pages(make_app, officer: str) -> None:
    source = ListFindings()
    with TestClient(make_app(findings_source=source)) as client:
        first = client.get("/v1/findings", params={"limit": 20}, headers=auth(officer)).json()
        source.rows += findings(5, run_id=3, first_id=36)  # a newer run is sealed between two pages
        rest = client.get(
            "/v1/findings", params={"limit": 20, "cursor": first["next_cursor"]}, headers=auth(officer)
        ).json()
        assert first["run_id"] == rest["run_id"] == 2
        assert [f["id"] for f in first["items"] + rest["items"]] == list(range(11, 36))
        assert rest["next_cursor"] is None
        assert client.get("/v1/findings", headers=auth(officer)).json()["run_id"] == 3


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
        assert controls["items"][0]["checks"][0]["id"] == "s3.default_encryption"
        status = client.get(
            "/v1/frameworks/hipaa/status", params={"as_of": "2026-11-01T00:00:00Z"}, headers=auth(officer)
        ).json()
        assert status["as_of"] == "2026-11-01T00:00:00Z"
        control = status["controls"][0]
        assert (control["status"], control["automated"], control["exceptions"]) == ("not_met", "fail", [2])
        assert control["customer_evidence"] == {"state": "not_needed", "items": [7], "submitted": [], "expired": []}
        assert control["checks"][0] == {
            "check_id": "s3.default_encryption",
            "title": "S3 buckets are encrypted",
            "severity": "high",
            "status": "fail",
            "passed": 3,
            "failed": 1,
            "errors": 0,
            "not_applicable": 0,
            "stale": 0,
            "excepted": 0,
        }
        assert status["by_status"] == {"not_met": 1}
        assert status["expiring"]["within_days"] == 30 and status["expiring"]["items"] == []
        assert status["expiring"]["exceptions"][0]["id"] == 2
        assert status["expiring"]["exceptions"][0]["controls"] == ["164.312(a)(2)(iv)"]
        scoped = client.get(
            "/v1/frameworks/hipaa/status",
            params={"account": ["222222222222", "111111111111", "222222222222"]},
            headers=auth(officer),
        )
        assert scoped.json()["accounts"] == ["111111111111", "222222222222"]
        bad = client.get("/v1/frameworks/hipaa/status", params={"account": "12345"}, headers=auth(officer))
        assert bad.status_code == 422 and bad.json()["error"]["details"][0]["loc"] == ["query", "account", "0"]
        missing = client.get("/v1/frameworks/iso27001/controls", headers=auth(officer))
        assert missing.status_code == 404 and "iso27001" in missing.json()["error"]["message"]
