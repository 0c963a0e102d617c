"""Issue 11: input at the edges of what the API and the database accept is a 4xx, never a 500, on both backends.

Lengths (a maximal note, a long forwarded client address), out-of-range and naive datetimes, forged cursors,
control characters, and values that lax parsing used to coerce (`"yes"` as true, Arabic-Indic digits).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api.models import Role
from core.canonical import FINGERPRINT_VERSION, canonical_json
from evidence.store import EvidenceStore
from tests.api.conftest import auth, issue, request_ready_packet
from tests.api.sources import ListFindings, OneFramework

LONGEST_NOTE = "n" * 256
# Digits other than 0-9 that \d matches (written as escapes: they look like ASCII digits or letters).
ARABIC_ONE, ARABIC_THIRTY, FULLWIDTH_THIRTY = "\u0661", "\u0663\u0660", "\uff13\uff10"
FULLWIDTH_2026 = "\uff12\uff10\uff12\uff16"


def _status(response: Any, expected: int) -> dict[str, Any]:
    assert response.status_code == expected, response.text
    return response.json() if response.content else {}


# -- Defect 4: lengths ---------------------------------------------------------------------------------------------


def test_a_token_with_the_longest_note_can_request_packets_runs_and_grants(
    client: TestClient, admin: str, engine
) -> None:  # type: ignore[no-untyped-def]
    """'officer token N (note)' is longer than the note: every column holding it must take the longest one."""
    created = _status(
        client.post("/v1/tokens", json={"role": "officer", "note": LONGEST_NOTE}, headers=auth(admin)), 201
    )
    officer = created["token"]
    packet = request_ready_packet(client, officer)
    assert packet["requested_by"] == f"officer token {created['id']} ({LONGEST_NOTE})"
    job = _status(client.post("/v1/runs", json={}, headers=auth(officer)), 202)
    assert job["requested_by"] == packet["requested_by"]
    grant = _status(
        client.post(
            f"/v1/packets/{packet['id']}/grants",
            json={"expires_in_days": 7, "note": LONGEST_NOTE},
            headers=auth(officer),
        ),
        201,
    )
    assert grant["created_by"] == packet["requested_by"]
    # The auditor's own name ('auditor token N (note)') goes into the access log with each of its requests.
    assert client.get(f"/v1/packets/{packet['id']}", headers=auth(grant["token"])).status_code == 200
    log = _status(client.get(f"/v1/packets/{packet['id']}/access-log", headers=auth(officer)), 200)["items"]
    assert [entry["principal"] for entry in log] == [f"auditor token {grant['token_id']} ({LONGEST_NOTE})"]


@pytest.mark.parametrize(
    "note", ["n" * 257, "tab\there", "nul\x00byte", "bell\x07", "c1\x85control", "rtl\u202eoverride"]
)
def test_notes_too_long_or_holding_control_characters_are_refused(
    client: TestClient, admin: str, officer: str, note: str
) -> None:
    token = client.post("/v1/tokens", json={"role": "officer", "note": note}, headers=auth(admin))
    assert _status(token, 422)["error"]["details"][0]["loc"] == ["body", "note"]
    packet = request_ready_packet(client, officer)
    grant = client.post(
        f"/v1/packets/{packet['id']}/grants", json={"expires_in_days": 7, "note": note}, headers=auth(officer)
    )
    assert _status(grant, 422)["error"]["details"][0]["loc"] == ["body", "note"]


def test_a_lone_surrogate_in_a_note_is_refused(client: TestClient, admin: str) -> None:
    """JSON can carry "\\ud800"; neither database can store it as UTF-8."""
    body = b'{"role": "officer", "note": "half \\ud800 a pair"}'
    response = client.post("/v1/tokens", content=body, headers={**auth(admin), "content-type": "application/json"})
    assert _status(response, 422)["error"]["details"][0]["loc"] == ["body", "note"]


@pytest.mark.parametrize(
    ("note", "message"),
    [("n" * 257, "at most 256 characters"), ("nul\x00byte", "control character"), ("a\nb", "control character")],
)
def test_token_create_refuses_a_note_the_api_would_refuse(cli_env, run_cli, note: str, message: str) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("token", "create", "--role", "officer", "--note", note)
    assert result.code == 2, result
    assert "--note" in result.stderr and message in result.stderr


@pytest.fixture
def proxied(make_app, engine) -> Iterator[tuple[TestClient, str, str, str]]:  # type: ignore[no-untyped-def]
    """The app behind uvicorn's proxy-header handling, trusting every proxy, and an auditor granted a packet."""
    app: FastAPI = make_app()
    with TestClient(ProxyHeadersMiddleware(app, trusted_hosts="*")) as client:  # type: ignore[arg-type]
        officer = issue(engine, Role.OFFICER)[1]
        packet = request_ready_packet(client, officer)
        grant = client.post(
            f"/v1/packets/{packet['id']}/grants", json={"expires_in_days": 7}, headers=auth(officer)
        ).json()
        yield client, packet["id"], grant["token"], officer


@pytest.mark.parametrize(
    ("forwarded", "stored"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1%eth0"),
        (  # the longest address text there is: 45 characters, a 15-character zone
            "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255%" + "z" * 15,
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%" + "z" * 15,
        ),
        ("x" * 79, "invalid"),
        ("203.0.113.9; DROP TABLE", "invalid"),
        ("fe80::1%" + "z" * 40, "fe80::1"),
    ],
)
def test_the_forwarded_client_address_is_stored_normalised_or_marked_invalid(
    proxied, forwarded: str, stored: str
) -> None:  # type: ignore[no-untyped-def]
    client, packet_id, auditor, officer = proxied
    response = client.get(f"/v1/packets/{packet_id}", headers={**auth(auditor), "X-Forwarded-For": forwarded})
    assert response.status_code == 200
    log = client.get(f"/v1/packets/{packet_id}/access-log", headers=auth(officer)).json()["items"]
    assert [entry["client"] for entry in log if entry["action"] == "request"] == [stored]


# -- Defect 6: 500 instead of 4xx ------------------------------------------------------------------------------------


@pytest.fixture
def seams(make_app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(make_app(findings_source=ListFindings(), frameworks_source=OneFramework())) as client:
        yield client


@pytest.mark.parametrize("path", ["/v1/evidence", "/v1/findings"])
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("observed_from", "0001-01-01T00:00:00+01:00"),
        ("observed_to", "9999-12-31T23:59:59-01:00"),
        ("observed_from", "2026-11-01T00:00:00"),
        ("observed_from", "1700000000"),
        ("observed_to", FULLWIDTH_2026 + "-11-01T00:00:00Z"),
    ],
)
def test_observed_bounds_outside_the_calendar_or_without_a_zone_are_refused(
    seams: TestClient, officer: str, path: str, name: str, value: str
) -> None:
    error = _status(seams.get(path, params={name: value}, headers=auth(officer)), 422)["error"]
    assert error["details"][0]["loc"] == ["query", name]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z"),
        ("9999-12-31T23:59:59-01:00", "1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z"),
        ("2026-03-31T00:00:00", "has no time zone: expected an RFC 3339 date-time with a zone"),
    ],
)
def test_as_of_outside_the_calendar_or_naive_is_refused(
    seams: TestClient, officer: str, value: str, expected: str
) -> None:
    status = seams.get("/v1/frameworks/hipaa/status", params={"as_of": value}, headers=auth(officer))
    assert _status(status, 422)["error"]["details"][0]["loc"] == ["query", "as_of"]
    packet = seams.post("/v1/packets", json={"framework": "hipaa", "as_of": value}, headers=auth(officer))
    error = _status(packet, 422)["error"]
    assert error["details"][0]["loc"] == ["body", "as_of"]
    assert error["message"].startswith("body.as_of: ") and expected in error["message"]
    if "zone" in expected:  # the other accepted form is named too
        assert "or a date YYYY-MM-DD, e.g. 2026-03-31 for the end of that day (UTC)" in error["message"]


def test_a_date_only_as_of_means_the_end_of_that_day(seams: TestClient, officer: str) -> None:
    response = seams.get("/v1/frameworks/hipaa/status", params={"as_of": "2026-03-31"}, headers=auth(officer))
    status = _status(response, 200)
    assert status["as_of"] == "2026-03-31T23:59:59.999999Z"


def _unsigned(position: dict[str, Any], filters: dict[str, Any]) -> str:
    """A cursor as the unsigned format built them: what anyone can forge."""
    from core.canonical import sha256_hex

    body = {"v": 1, "q": sha256_hex(canonical_json(filters, version=FINGERPRINT_VERSION))[:16], "p": position}
    return base64.urlsafe_b64encode(canonical_json(body, version=FINGERPRINT_VERSION)).decode().rstrip("=")


@pytest.mark.parametrize(
    ("path", "position", "filters"),
    [
        ("/v1/runs", {"before": 2**70}, {}),
        ("/v1/jobs", {"before": 2**70}, {"status": None, "kind": None}),
        ("/v1/packets", {"created_at": "2026-01-01T00:00:00", "id": "x"}, {"status": None}),
        ("/v1/packets", {"created_at": "0001-01-01T00:00:00+01:00", "id": "x"}, {"status": None}),
        (
            "/v1/findings",
            {"after": 2**70, "run": 2},
            dict.fromkeys(("run_id", "check", "status", "account", "region", "service", "from", "to")),
        ),
    ],
)
def test_a_forged_cursor_is_a_clean_400(
    seams: TestClient, officer: str, path: str, position: dict[str, Any], filters: dict[str, Any]
) -> None:
    response = seams.get(path, params={"cursor": _unsigned(position, filters)}, headers=auth(officer))
    error = _status(response, 400)["error"]
    assert error["code"] == "invalid_cursor"


def test_a_forged_evidence_cursor_is_a_clean_400(client: TestClient, officer: str, store: EvidenceStore) -> None:
    filters = dict.fromkeys(
        ("run_id", "account_id", "region", "service", "kind", "resource_type", "observed_from", "observed_to")
    )
    cursor = _unsigned({"at": "2026-01-01T00:00:00Z", "before": 2**70}, filters)
    response = client.get("/v1/evidence", params={"cursor": cursor}, headers=auth(officer))
    assert _status(response, 400)["error"]["code"] == "invalid_cursor"


def test_a_tampered_cursor_is_a_clean_400(client: TestClient, officer: str, store: EvidenceStore) -> None:
    for _ in range(3):
        run = store.start_run(trigger="cli", requested_by="test", scope={})
        store.finish_run(run.id)
    page = _status(client.get("/v1/runs", params={"limit": 1}, headers=auth(officer)), 200)
    cursor = page["next_cursor"]
    body, _, signature = cursor.partition(".")
    decoded = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    decoded["p"]["before"] = 2**62
    forged_body = base64.urlsafe_b64encode(canonical_json(decoded, version=FINGERPRINT_VERSION)).decode().rstrip("=")
    for forged, words in (
        (f"{forged_body}.{signature}", "signature"),
        (cursor[:-5], "signature"),
        (body, "signature"),
        (cursor + "!", "malformed"),
    ):
        error = _status(client.get("/v1/runs", params={"cursor": forged}, headers=auth(officer)), 400)["error"]
        assert error["code"] == "invalid_cursor" and words in error["message"], (forged, error)


# -- strict parsing where coercion surprised ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"organization": "yes"}, ["body", "organization"]),
        ({"organization": 1}, ["body", "organization"]),
        ({"accounts": [ARABIC_ONE * 12]}, ["body", "accounts", "0"]),
        ({"regions": ["us-east-" + ARABIC_ONE]}, ["body", "regions", "0"]),
        ({"role_name": "Rôle"}, ["body", "role_name"]),
    ],
)
def test_run_requests_are_parsed_strictly(client: TestClient, officer: str, body: dict, loc: list[str]) -> None:
    assert _status(client.post("/v1/runs", json=body, headers=auth(officer)), 422)["error"]["details"][0]["loc"] == loc


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"role": "officer", "expires": ARABIC_THIRTY + "d"}, ["body", "expires"]),
        ({"role": "officer", "expires": FULLWIDTH_THIRTY + "d"}, ["body", "expires"]),
    ],
)
def test_token_lifetimes_take_ascii_digits_only(client: TestClient, admin: str, body: dict, loc: list[str]) -> None:
    assert _status(client.post("/v1/tokens", json=body, headers=auth(admin)), 422)["error"]["details"][0]["loc"] == loc


def test_cli_lifetimes_take_ascii_digits_only(cli_env, run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("token", "create", "--role", "officer", "--expires", ARABIC_THIRTY + "d")
    assert result.code == 2 and "expected a positive number with a unit" in result.stderr


def test_grant_days_and_packet_dates_are_strict(client: TestClient, officer: str) -> None:
    packet = request_ready_packet(client, officer)
    for days in ("7", 7.0, True):
        response = client.post(
            f"/v1/packets/{packet['id']}/grants", json={"expires_in_days": days}, headers=auth(officer)
        )
        assert _status(response, 422)["error"]["details"][0]["loc"] == ["body", "expires_in_days"], days
    period = client.post(
        "/v1/packets",
        json={"framework": "hipaa", "period": {"from": "2025-01-01T00:00:00", "to": "2025-12-31"}},
        headers=auth(officer),
    )
    assert _status(period, 422)["error"]["details"][0]["loc"] == ["body", "period", "from"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/runs", {"limit": "5.0"}),
        ("/v1/runs", {"limit": "1_0"}),
        ("/v1/runs", {"limit": " 5"}),
        ("/v1/evidence", {"run_id": "+1"}),
        ("/v1/tokens", {"include_inactive": "yes"}),
    ],
)
def test_query_numbers_and_flags_are_strict(client: TestClient, admin: str, path: str, params: dict) -> None:
    response = client.get(path, params=params, headers=auth(admin))
    assert _status(response, 422)["error"]["details"][0]["loc"] == ["query", next(iter(params))]
