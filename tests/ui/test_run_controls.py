"""The run page's control status changes (GET /ui/runs/{id}/controls, a fragment the run page loads with htmx): the
JSON route's own answer drawn as a table, with the framework evaluated for real on each run as of its end; officers
only, as in the API; bad parameters are clean 4xx."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.models import Packet, PacketStatus, Role
from api.services import grants
from api.ui.security import CSP
from auditpack.api_sources import CatalogFrameworks
from auditpack.settings import load_settings
from core.clock import utcnow
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import Finding, FindingStatus
from evidence.db import session_factory
from evidence.findings import save_findings
from evidence.models import Run
from evidence.store import EvidenceStore
from frameworks.loader import Catalogs, LoadedCatalog
from tests.api.conftest import auth, config, issue
from tests.api.customer import POLICY
from tests.api.sources import CATALOG
from tests.evidence.diff_store import record_expiring_exception
from tests.ui.conftest import sign_in
from tests.ui.pages import facts, unlabelled

ACCOUNT = "111111111111"
BUCKET = "arn:aws:s3:::records-bucket"
CONTROL = "164.312(a)(2)(iv)"  # CATALOG's one requirement: S3 buckets are encrypted (s3.default_encryption)
CONTROL_PAGE = f"/ui/frameworks/hipaa/controls/{quote(CONTROL, safe='')}"
T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
FRAGMENT = {"HX-Request": "true"}


def _capture(store: EvidenceStore, at: datetime, verdict: FindingStatus) -> Run:
    """A sealed run at `at` that read one bucket, and its stored finding."""
    clocked = EvidenceStore(store.engine, clock=lambda: at)
    run = clocked.start_run(trigger="cli", requested_by="tests", scope={"accounts": [ACCOUNT]})
    with clocked.recorder(run.id) as recorder:
        recorder.add(
            observed_at=at,
            account_id=ACCOUNT,
            region="us-east-1",
            service="s3",
            resource_type="bucket",
            resource_id=BUCKET,
            kind="s3.bucket",
            payload={"Name": "records-bucket", "BucketRegion": "us-east-1"},
        )
    sealed = clocked.finish_run(run.id)
    reason = "default encryption SSE-KMS" if verdict is FindingStatus.PASS else "no default encryption"
    finding = Finding(
        check_id="s3.default_encryption",
        status=verdict,
        account_id=ACCOUNT,
        region="us-east-1",
        resource_id=BUCKET,
        reason=reason,
        evidence=(),
        observed_at=at,
        resource_type="bucket",
    )
    save_findings(store, sealed.id, [finding], thresholds=Thresholds())
    return sealed


@pytest.fixture
def runs(store: EvidenceStore) -> tuple[Run, Run, Run]:
    """Encrypted, then not (the control goes from met to not met), then still not (nothing moves)."""
    return (
        _capture(store, T0, FindingStatus.PASS),
        _capture(store, T0 + timedelta(days=1), FindingStatus.FAIL),
        _capture(store, T0 + timedelta(days=2), FindingStatus.FAIL),
    )


@pytest.fixture
def app(make_app: Callable[..., FastAPI], store: EvidenceStore, cli_env: dict[str, str]) -> FastAPI:
    """The API's app over the real status evaluation (`CatalogFrameworks`) of a one-requirement catalog."""
    catalogs = Catalogs([LoadedCatalog(catalog=CATALOG, source=Path("tests/api/sources.py"), packaged=False)])
    return make_app(
        customer_policy=POLICY,
        frameworks_source=CatalogFrameworks(load_settings(), store, catalogs),
        config=config(ui_plain_http=True),
    )


@pytest.fixture
def officer_ui(app: FastAPI, engine: Engine) -> Iterator[TestClient]:
    secret = issue(engine, Role.OFFICER, note="alice")[1]
    with TestClient(app, base_url="http://127.0.0.1") as client:
        sign_in(client, secret)
        yield client


def test_an_officer_sees_a_control_that_went_from_met_to_not_met(
    officer_ui: TestClient, runs: tuple[Run, Run, Run], store: EvidenceStore, officer: str, sqlite_only: None
) -> None:
    first, second, _third = runs
    exception_id = record_expiring_exception(store)  # for other buckets; it lapses between the two runs
    page = officer_ui.get(f"/ui/runs/{second.id}")
    assert page.status_code == 200, page.text
    shown = facts(page.text)
    assert shown.h1 == 1 and shown.inline_handlers == [] and shown.inline_styles == 0 and unlabelled(shown) == []
    assert '<label for="cc-framework">' in page.text
    assert '<option value="hipaa">HIPAA Security Rule</option>' in page.text
    # The page itself does not evaluate: it asks for the fragment once it is shown (and links to it without htmx).
    loader = f'hx-get="/ui/runs/{second.id}/controls?framework=hipaa" hx-trigger="load"'
    assert loader in page.text and f'<a href="/ui/runs/{second.id}/controls?framework=hipaa">' in page.text

    fragment = officer_ui.get(f"/ui/runs/{second.id}/controls?framework=hipaa", headers=FRAGMENT)
    assert fragment.status_code == 200, fragment.text
    assert "<html" not in fragment.text and "<h1" not in fragment.text
    assert fragment.headers["content-security-policy"] == CSP
    assert f"1 requirement whose status changed from run {first.id}" in fragment.text  # the table's caption
    row = re.search(r'<th scope="row"><a href="([^"]+)"><code>([^<]+)</code></a>.*?</tr>', fragment.text, re.S)
    assert row and row.group(1) == CONTROL_PAGE and row.group(2) == CONTROL
    assert '<span class="badge met">met</span> → <span class="badge not_met">not met</span>' in row.group(0)
    assert "checks: pass -&gt; fail (1 resource(s) failing)" in row.group(0)  # why, as the API says it
    assert officer_ui.get(CONTROL_PAGE).status_code == 200  # the link leads to the control's page
    lapsed = re.search(r'<th scope="row">exception (\d+)<br>.*?</tr>', fragment.text, re.S)
    assert lapsed and int(lapsed.group(1)) == exception_id
    assert '<span class="badge expired">expired</span>' in lapsed.group(0)
    assert f'<a href="{CONTROL_PAGE}"><code>{CONTROL}</code></a>' in lapsed.group(0)

    # What the JSON route answers for the same pair, control by control: one service, not two.
    api = officer_ui.get(
        f"/v1/runs/{second.id}/diff/controls", params={"framework": "hipaa"}, headers=auth(officer)
    ).json()
    assert [(c["control_id"], c["before"], c["after"]) for c in api["control_changes"]] == [(CONTROL, "met", "not_met")]

    # Without JavaScript the link opens the same table as a page, with the run to go back to.
    whole = officer_ui.get(f"/ui/runs/{second.id}/controls?framework=hipaa&against={first.id}")
    assert whole.status_code == 200 and facts(whole.text).h1 == 1 and "<caption>" in whole.text
    assert f'href="/ui/runs/{second.id}?against={first.id}"' in whole.text


def test_a_pair_where_nothing_moved_says_no_control_changed(
    officer_ui: TestClient, runs: tuple[Run, Run, Run], sqlite_only: None
) -> None:
    first, second, third = runs
    same = officer_ui.get(f"/ui/runs/{third.id}/controls?framework=hipaa", headers=FRAGMENT)
    assert same.status_code == 200, same.text
    assert f"no control changed status from run {second.id}" in same.text and "<table" not in same.text
    # A chosen run: the page's form and loader carry it, and the fragment compares with it.
    page = officer_ui.get(f"/ui/runs/{third.id}?against={first.id}")
    assert f'<input type="hidden" name="against" value="{first.id}">' in page.text
    assert f'hx-get="/ui/runs/{third.id}/controls?against={first.id}&amp;framework=hipaa"' in page.text
    chosen = officer_ui.get(f"/ui/runs/{third.id}/controls?framework=hipaa&against={first.id}", headers=FRAGMENT)
    assert f"1 requirement whose status changed from run {first.id}" in chosen.text
    # The first run has nothing before it: the section says so and asks for no fragment.
    alone = officer_ui.get(f"/ui/runs/{first.id}")
    assert "has no earlier complete or partial run to compare with" in alone.text
    assert f"/ui/runs/{first.id}/controls" not in alone.text


def test_a_bad_against_or_framework_is_a_clear_4xx(
    officer_ui: TestClient, runs: tuple[Run, Run, Run], sqlite_only: None
) -> None:
    _first, second, _third = runs
    path = f"/ui/runs/{second.id}/controls"
    for params, status, said in (
        ("framework=hipaa&against=yesterday", 422, "against: &#39;yesterday&#39; is not a whole number"),
        ("framework=hipaa&against=0", 422, "against: 0 is out of range"),
        ("framework=hipaa&against=987654", 404, "run 987654 does not exist"),
        (f"framework=hipaa&against={second.id}", 409, f"run {second.id} compared with itself"),
        ("framework=nist", 404, "unknown framework &#39;nist&#39;"),
        ("framework=HIPAA!", 422, "framework: String should match pattern"),
        ("", 422, "framework: Field required"),
    ):
        answer = officer_ui.get(f"{path}?{params}")
        assert answer.status_code == status and said in answer.text, (params, answer.status_code, answer.text[-800:])
        # htmx shows the same message in the page's message area, not in the section.
        swapped = officer_ui.get(f"{path}?{params}", headers=FRAGMENT)
        assert swapped.status_code == status and swapped.headers["hx-retarget"] == "#flash", params
        assert said in swapped.text and "<html" not in swapped.text


def test_an_auditor_does_not_get_the_fragment_even_for_runs_of_its_packet(
    app: FastAPI, engine: Engine, runs: tuple[Run, Run, Run], sqlite_only: None
) -> None:
    first, second, _third = runs
    now = utcnow()
    with session_factory(engine)() as session:
        packet = Packet(
            id=str(uuid.uuid4()),
            framework="hipaa",
            as_of=second.finished_at,
            scope={},
            requested_by="officer",
            request_sha256="0" * 64,
            status=PacketStatus.READY.value,
            run_ids=[first.id, second.id],
            created_at=now,
            finished_at=now,
        )
        session.add(packet)
        session.commit()
        granted = grants.create_grant(
            session, packet_id=packet.id, lifetime=timedelta(days=3), note="Acme LLP", created_by="test", now=now
        )
    with TestClient(app, base_url="http://127.0.0.1") as client:
        # The API: the runs are the auditor's (their resource diff answers), their control changes are not.
        assert client.get(f"/v1/runs/{second.id}/diff", headers=auth(granted.secret)).status_code == 200
        refused = client.get(
            f"/v1/runs/{second.id}/diff/controls", params={"framework": "hipaa"}, headers=auth(granted.secret)
        )
        assert refused.status_code == 404
        # The interface answers the same, page or fragment, and says nothing of the runs.
        sign_in(client, granted.secret)
        for headers in ({}, FRAGMENT):
            hidden = client.get(f"/ui/runs/{second.id}/controls?framework=hipaa", headers=headers)
            assert hidden.status_code == 404, headers
            assert CONTROL not in hidden.text and "requirement" not in hidden.text, headers
        assert client.get(f"/ui/runs/{second.id}").status_code == 404
