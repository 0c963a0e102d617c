"""Evidence: filtered, keyset-paginated listing and canonical payload bytes served under their hash."""

from __future__ import annotations

import hashlib
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from core.canonical import JCS, canonical_json
from evidence.models import Blob
from evidence.store import EvidenceStore
from tests.api.conftest import auth


@pytest.fixture
def recorded(store: EvidenceStore) -> dict[str, int]:
    """Two runs: 30 items over 2 accounts x 3 services, observed a minute apart; a day later 5 more."""
    runs = {}
    for name, count, start in (
        ("first", 30, datetime(2026, 11, 1, tzinfo=UTC)),
        ("second", 5, datetime(2026, 11, 2, tzinfo=UTC)),
    ):
        run = store.start_run(trigger="cli", requested_by="test", scope={})
        with store.recorder(run.id) as recorder:
            for index in range(count):
                recorder.add(
                    account_id=("111111111111", "222222222222")[index % 2],
                    region="us-east-1",
                    service=("s3", "iam", "ec2")[index % 3],
                    resource_type="thing",
                    resource_id=f"{name}-{index}",
                    kind=f"{('s3', 'iam', 'ec2')[index % 3]}.state",
                    payload={"name": name, "index": index},
                    observed_at=start + timedelta(minutes=index),
                )
        store.finish_run(run.id)
        runs[name] = run.id
    return runs


def _all_pages(client: TestClient, secret: str, **params: object) -> list[dict]:
    items, cursor = [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/evidence", params=query, headers=auth(secret))
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


def test_pages_walk_every_matching_item_once_newest_observation_first(
    client: TestClient, officer: str, recorded: dict[str, int]
) -> None:
    everything = _all_pages(client, officer, limit=7)
    assert len(everything) == 35
    order = [(item["observed_at"], item["id"]) for item in everything]
    assert order == sorted(order, reverse=True) and len({item["id"] for item in everything}) == 35
    assert [item["resource_id"] for item in everything[:6]] == [
        "second-4",
        "second-3",
        "second-2",
        "second-1",
        "second-0",
        "first-29",
    ]

    s3 = _all_pages(client, officer, service="s3", account="111111111111", limit=2)
    assert {(i["service"], i["account_id"]) for i in s3} == {("s3", "111111111111")}
    assert len(s3) == 5 + 1  # indexes 0, 6, 12, 18, 24 of the first run, 0 of the second

    window = _all_pages(
        client,
        officer,
        run_id=recorded["first"],
        observed_from="2026-11-01T00:10:00Z",
        observed_to="2026-11-01T00:20:00Z",
    )
    assert sorted(int(i["resource_id"].split("-")[1]) for i in window) == list(range(10, 20))
    assert _all_pages(client, officer, kind="iam.state", region="eu-west-1") == []


def test_a_cursor_only_continues_its_own_query(client: TestClient, officer: str, recorded: dict[str, int]) -> None:
    page = client.get("/v1/evidence", params={"limit": 3, "service": "s3"}, headers=auth(officer)).json()
    other = client.get(
        "/v1/evidence", params={"limit": 3, "service": "iam", "cursor": page["next_cursor"]}, headers=auth(officer)
    )
    assert other.status_code == 400 and "different filters" in other.json()["error"]["message"]
    garbage = client.get("/v1/evidence", params={"cursor": "%%%"}, headers=auth(officer))
    assert garbage.status_code == 400
    naive = client.get("/v1/evidence", params={"observed_from": "2026-11-01T00:00:00"}, headers=auth(officer))
    assert naive.status_code == 422


def test_a_payload_is_served_as_its_canonical_bytes(
    client: TestClient, officer: str, recorded: dict[str, int], engine: Engine
) -> None:
    item = client.get("/v1/evidence", params={"limit": 1}, headers=auth(officer)).json()["items"][0]
    response = client.get(f"/v1/evidence/{item['sha256']}", headers=auth(officer))
    assert response.status_code == 200
    assert response.content == canonical_json({"name": "second", "index": 4}, version=JCS)
    assert hashlib.sha256(response.content).hexdigest() == item["sha256"] == response.headers["x-content-sha256"]
    assert response.headers["content-type"] == "application/json"
    missing = client.get(f"/v1/evidence/{'0' * 64}", headers=auth(officer))
    assert missing.status_code == 404
    log = client.get("/v1/access-log/export", headers=auth(officer)).text.splitlines()
    assert len(log) == 1 and '"action":"download.evidence"' in log[0] and item["sha256"] in log[0]


def test_an_altered_payload_is_not_served(
    client: TestClient, officer: str, recorded: dict[str, int], engine: Engine
) -> None:
    item = client.get("/v1/evidence", params={"limit": 1}, headers=auth(officer)).json()["items"][0]
    with engine.begin() as connection:
        forged = zlib.compress(canonical_json({"name": "second", "index": 999}, version=JCS))
        connection.execute(update(Blob).where(Blob.sha256 == item["sha256"]).values(data=forged))
    response = client.get(f"/v1/evidence/{item['sha256']}", headers=auth(officer))
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "verification_failed"
    assert "was altered" in response.json()["error"]["message"]


def test_items_observed_at_the_same_moment_are_neither_skipped_nor_repeated_across_pages(
    client: TestClient, officer: str, store: EvidenceStore
) -> None:
    moment = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
    run = store.start_run(trigger="cli", requested_by="test", scope={})
    with store.recorder(run.id) as recorder:
        for index in range(7):
            recorder.add(
                account_id="111111111111",
                region="global",
                service="iam",
                resource_type="user",
                resource_id=f"user-{index}",
                kind="iam.user",
                payload={"user": index},
                observed_at=moment,
            )
    store.finish_run(run.id)
    items = _all_pages(client, officer, limit=3)
    assert sorted(item["resource_id"] for item in items) == [f"user-{i}" for i in range(7)]
    assert [item["id"] for item in items] == sorted((item["id"] for item in items), reverse=True)


@pytest.mark.parametrize("name", ["service", "kind", "region", "resource_type"])
def test_a_filter_holding_a_nul_byte_is_refused_not_a_server_error(client: TestClient, officer: str, name: str) -> None:
    """PostgreSQL refuses NUL in text; schemathesis found it reaching the query as a 500."""
    response = client.get("/v1/evidence", params={name: "s3\x00"}, headers=auth(officer))
    assert response.status_code == 422, response.text
