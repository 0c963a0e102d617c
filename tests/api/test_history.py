"""`GET /v1/frameworks/{id}/history`: the real frameworks source over a month of nightly captures
(tests/frameworks/period_store.py): the same history and operation as `auditpack status --from --to`, paged by
control, officers only, and precise 422s for bad periods."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.models import Role
from auditpack.api_sources import CatalogFrameworks
from auditpack.settings import Settings
from auditpack.wiring import load_framework_catalogs
from evidence.store import EvidenceStore
from tests.api.conftest import TEST_CONFIG, auth, issue
from tests.frameworks import period_store as month
from tests.frameworks.period_store import Month

PERIOD = {"from": month.FIRST.isoformat(), "to": month.LAST.isoformat()}
ROUTE = "/v1/frameworks/ops/history"


@pytest.fixture(scope="module")
def api(month_store: Month, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str, str]]:
    catalogs = month.write_catalog(tmp_path_factory.mktemp("catalogs"))
    settings = Settings(database_url=month_store.url, catalog_dir=catalogs, data_dir=tmp_path_factory.mktemp("data"))
    source = CatalogFrameworks(settings, EvidenceStore(month_store.engine), load_framework_catalogs(settings))
    app = create_app(
        engine=month_store.engine, data_dir=settings.data_dir, frameworks_source=source, config=TEST_CONFIG
    )
    officer = issue(month_store.engine, Role.OFFICER)[1]
    auditor = issue(month_store.engine, Role.AUDITOR)[1]
    with TestClient(app) as client:
        yield client, officer, auditor


def _pages(client: TestClient, officer: str, **params: object) -> tuple[dict, list[dict]]:
    first, items, cursor = None, [], None
    while True:
        response = client.get(
            ROUTE, params={**PERIOD, **params, **({"cursor": cursor} if cursor else {})}, headers=auth(officer)
        )
        assert response.status_code == 200, response.text
        page = response.json()
        first = first or page
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return first, items


def test_history_pages_through_every_control(api: tuple[TestClient, str, str], month_store: Month) -> None:
    client, officer, _ = api
    page, items = _pages(client, officer, limit=3)
    assert [item["control_id"] for item in items] == ["E1", "E2", "P1", "I1"]
    assert (page["from"], page["to"], page["captures"], page["days"]) == ("2026-04-01", "2026-04-30", "all", 30)
    assert page["days_without_capture"] == ["2026-04-17"]
    assert page["longest_failing_streak"] == {"days": 19, "controls": ["E1"]}
    assert page["requirements_failed"] == 2 and len(page["runs"]) == 30
    e1 = items[0]
    assert len(e1["history"]) == 30 and e1["history"][2]["status"] == "not_met"
    assert e1["operation"]["longest_failing_streak_days"] == 19
    assert e1["operation"]["failures"] == [
        {
            "first_failed_at": "2026-04-03T02:00:00Z",
            "first_run_id": month_store.runs[(3, 2)].id,
            "last_failed_at": "2026-04-21T02:00:00Z",
            "last_run_id": month_store.runs[(21, 2)].id,
            "streak_days": 19,
            "remediated_at": "2026-04-22T02:00:00Z",
            "remediated_run_id": month_store.runs[(22, 2)].id,
            "time_to_remediation_seconds": 19 * 86400,
        }
    ]
    assert e1["operation"]["uncovered_days"] == ["2026-04-17"]
    daily, _ = _pages(client, officer, captures="daily", limit=500)
    assert len(daily["runs"]) == 29 and daily["captures"] == "daily"


def test_only_officers_read_history(api: tuple[TestClient, str, str]) -> None:
    client, _, auditor = api
    assert client.get(ROUTE, params=PERIOD).status_code == 401
    # like every officer route: to an auditor it does not exist
    assert client.get(ROUTE, params=PERIOD, headers=auth(auditor)).status_code == 404


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-04-31", "to": "2026-04-30"}, "query.from: '2026-04-31' is not a calendar date"),
        ({"from": "2026/04/01", "to": "2026-04-30"}, "query.from: '2026/04/01' is not a date"),
        ({"from": "2026-04-30", "to": "2026-04-01"}, "query.to: 2026-04-01 is before from 2026-04-30"),
        ({"from": "2026-04-01", "to": "2999-01-01"}, "query.to: 2999-01-01 is in the future"),
        (
            {"from": "2020-01-01", "to": "2026-04-30"},
            "query.to: the period from 2020-01-01 to 2026-04-30 has 2312 days",
        ),
        ({"to": "2026-04-30"}, "query.from: Field required"),
        ({**PERIOD, "captures": "weekly"}, "query.captures: Input should be 'all' or 'daily'"),
    ],
)
def test_bad_periods_are_422_naming_the_parameter(api: tuple[TestClient, str, str], params, message) -> None:  # type: ignore[no-untyped-def]
    client, officer, _ = api
    response = client.get(ROUTE, params=params, headers=auth(officer))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["message"].startswith(message), response.json()


def test_a_cursor_belongs_to_its_query(api: tuple[TestClient, str, str]) -> None:
    client, officer, _ = api
    first = client.get(ROUTE, params={**PERIOD, "limit": 1}, headers=auth(officer)).json()
    other = client.get(
        ROUTE, params={**PERIOD, "captures": "daily", "cursor": first["next_cursor"]}, headers=auth(officer)
    )
    assert other.status_code == 400 and "different filters" in other.json()["error"]["message"]
    unknown = client.get("/v1/frameworks/nope/history", params=PERIOD, headers=auth(officer))
    assert unknown.status_code == 404


def test_the_route_is_documented(api: tuple[TestClient, str, str]) -> None:
    client, _, _ = api
    operation = client.get("/openapi.json").json()["paths"]["/v1/frameworks/{framework_id}/history"]["get"]
    assert {parameter["name"] for parameter in operation["parameters"]} >= {"from", "to", "captures", "cursor"}
