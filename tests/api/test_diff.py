"""GET /v1/runs/{id}/diff and /diff/controls: cursor pages that walk the whole diff once, the run before as the
default baseline, clean errors, and an auditor limited to its packets' runs and accounts."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.models import Role
from api.principal import PacketScope, Principal
from api.services import drift
from auditpack.api_sources import CatalogFrameworks
from auditpack.settings import load_settings
from auditpack.wiring import load_framework_catalogs
from core.errors import NotFoundError
from evidence.db import session_factory
from evidence.store import EvidenceStore
from tests.api.conftest import auth
from tests.evidence.diff_store import (
    A1,
    A2,
    ACTOR,
    GONE,
    KEPT,
    NEW,
    SG,
    VOLUME,
    record_expiring_exception,
    record_two_runs,
)


def _pages(client: TestClient, secret: str, path: str, **params: Any) -> list[dict[str, Any]]:
    pages, cursor = [], None
    while True:
        response = client.get(path, params={**params, **({"cursor": cursor} if cursor else {})}, headers=auth(secret))
        assert response.status_code == 200, response.text
        pages.append(response.json())
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return pages


def test_an_officer_pages_through_the_diff_of_two_runs(client: TestClient, officer: str, store: EvidenceStore) -> None:
    runs = record_two_runs(store)
    path = f"/v1/runs/{runs.after.id}/diff"
    pages = _pages(client, officer, path, limit=2)
    assert [len(page["items"]) for page in pages] == [2, 2, 1]
    items = [item for page in pages for item in page["items"]]
    assert [item["resource_id"] for item in items] == [SG, VOLUME, GONE, KEPT, NEW]  # code point order
    first = pages[0]
    assert (first["from_run"]["id"], first["to_run"]["id"]) == (runs.before.id, runs.after.id)  # the run before
    assert first["places_only_in_from"] == [{"account_id": A2, "region": "eu-west-1"}]
    group = items[0]
    assert group["evidence"][0]["lines"][0] == "IpPermissions: added tcp 22 from 0.0.0.0/0"
    assert group["findings"] == [
        {
            "check_id": "ec2.sg_no_open_ssh",
            "change": "newly_failing",
            "before": "pass",
            "after": "fail",
            "reason": "tcp 22 open to 0.0.0.0/0",
        }
    ]
    assert group["changed_by"]["actors"] == [ACTOR] and group["changed_by"]["events"][0]["source_ip"] == "203.0.113.9"
    whole = client.get(path, params={"against": runs.before.id, "limit": 500}, headers=auth(officer)).json()
    assert whole["items"] == items and whole["next_cursor"] is None

    # A cursor belongs to its pair of runs; bad ids and pairs are clean errors; a token is needed.
    reverse = f"/v1/runs/{runs.before.id}/diff"
    other = client.get(
        reverse, params={"against": runs.after.id, "cursor": pages[0]["next_cursor"]}, headers=auth(officer)
    )
    assert other.status_code == 400 and "different filters" in other.json()["error"]["message"]
    forged = client.get(path, params={"cursor": pages[0]["next_cursor"] + "x"}, headers=auth(officer))
    assert forged.status_code == 400 and forged.json()["error"]["code"] == "invalid_cursor"
    assert client.get("/v1/runs/999/diff", headers=auth(officer)).status_code == 404
    assert client.get(f"/v1/runs/{runs.before.id}/diff", headers=auth(officer)).status_code == 404  # nothing before
    same = client.get(path, params={"against": runs.after.id}, headers=auth(officer))
    assert same.status_code == 409 and "compared with itself" in same.json()["error"]["message"]
    assert client.get(path).status_code == 401
    # No frameworks source on this app: control statuses cannot be compared here.
    assert client.get(f"{path}/controls", params={"framework": "hipaa"}, headers=auth(officer)).status_code == 503


def test_control_status_changes_name_the_exception_that_expired(  # type: ignore[no-untyped-def]
    make_app, officer: str, store: EvidenceStore, cli_env: dict[str, str]
) -> None:
    exception_id = record_expiring_exception(store)
    runs = record_two_runs(store)
    settings = load_settings()
    app = make_app(frameworks_source=CatalogFrameworks(settings, store, load_framework_catalogs(settings)))
    with TestClient(app) as client:
        response = client.get(
            f"/v1/runs/{runs.after.id}/diff/controls", params={"framework": "hipaa"}, headers=auth(officer)
        )
        assert response.status_code == 200, response.text
        body = response.json()
        [encryption] = [c for c in body["control_changes"] if c["control_id"] == "164.312(a)(2)(iv)"]
        assert encryption["after"] == "not_met"
        assert f"exception {exception_id} expired at 2026-11-20T14:00:00Z" in encryption["causes"]
        assert [(c["kind"], c["event"]) for c in body["customer_changes"]] == [("exception", "expired")]
        unknown = client.get(
            f"/v1/runs/{runs.after.id}/diff/controls", params={"framework": "nist"}, headers=auth(officer)
        )
        assert unknown.status_code == 404


@pytest.mark.usefixtures("sqlite_only")
def test_an_auditor_compares_only_its_packets_runs_within_their_accounts(store: EvidenceStore) -> None:
    runs = record_two_runs(store)
    one_run = Principal(token_id=1, role=Role.AUDITOR, scopes=(PacketScope("P1", frozenset({runs.after.id})),))
    both = Principal(
        token_id=2,
        role=Role.AUDITOR,
        scopes=(
            PacketScope("P1", frozenset({runs.after.id}), frozenset({A2})),
            PacketScope("P2", frozenset({runs.before.id}), None),
        ),
    )
    with session_factory(store.engine)() as session:
        with pytest.raises(NotFoundError):
            drift.run_pair(session, store, run_id=runs.after.id, against=None, principal=one_run)
        with pytest.raises(NotFoundError):
            drift.run_pair(session, store, run_id=runs.after.id, against=runs.before.id, principal=one_run)
        older, newer = drift.run_pair(session, store, run_id=runs.after.id, against=None, principal=both)
    accounts = drift.visible_accounts(both, older, newer)
    assert accounts == frozenset({A2})
    page = drift.diff_page(store, older, newer, accounts=accounts, after=None, limit=100)
    assert page.items == [] and page.diff.places_only_before == ((A2, "eu-west-1"),)
    officer = Principal(token_id=3, role=Role.OFFICER)
    assert drift.visible_accounts(officer, older, newer) is None
    everything = drift.diff_page(store, older, newer, accounts=None, after=None, limit=100)
    assert {item.account_id for item in everything.items} == {A1}
    assert KEPT in {item.resource_id for item in everything.items}
