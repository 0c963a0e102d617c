"""The web interface over HTTP without a browser: sessions and their cookie, CSRF, the Content-Security-Policy and
what every page is made of, auditor scope and the access log, filters and paging. The browser tests
(`test_browser.py`) drive the same pages through chromium."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from api.models import AccessLogEntry, Role
from api.services import tokens
from api.ui.security import CSP
from api.ui.session import SESSION_COOKIE
from api.ui.views import runs as ui_runs
from core.clock import utcnow
from evidence.customer import service
from evidence.db import session_factory
from evidence.store import EvidenceStore
from tests.api.conftest import auth, issue, request_ready_packet
from tests.api.customer import CONTROL, PDF
from tests.evidence.diff_store import A2, ACTOR, GONE, KEPT, NEW, SG, VOLUME, record_two_runs
from tests.ui.conftest import csrf_of, sign_in
from tests.ui.pages import facts, unlabelled

STATIC = Path(__file__).resolve().parents[2] / "api" / "ui" / "static"
OFFICER_PAGES = (
    "/ui/",
    "/ui/frameworks/hipaa/trend",
    "/ui/frameworks/hipaa/controls",
    "/ui/frameworks/hipaa/controls/164.312(a)(2)(iv)",
    "/ui/findings",
    "/ui/runs",
    "/ui/owners",
    "/ui/packets",
    "/ui/resources?id=arn:aws:s3:::bucket-3",
)


def _cookie_header(response, name: str) -> str:  # type: ignore[no-untyped-def]
    found = [v for v in response.headers.get_list("set-cookie") if v.startswith(f"{name}=")]
    assert len(found) == 1, response.headers.get_list("set-cookie")
    return found[0]


def test_sign_in_sets_a_strict_httponly_cookie_secure_unless_plain_http_on_loopback(
    ui_app: FastAPI, engine: Engine, sqlite_only: None
) -> None:
    secret = issue(engine, Role.OFFICER)[1]
    for base, secure in (("http://127.0.0.1", False), ("https://auditpack.example", True)):
        with TestClient(ui_app, base_url=base) as client:
            form = client.get("/ui/sign-in")
            done = client.post(
                "/ui/sign-in", data={"token": secret, "csrf_token": csrf_of(form.text)}, follow_redirects=False
            )
            assert done.status_code == 303 and done.headers["location"] == "/ui/"
            cookie = _cookie_header(done, SESSION_COOKIE).lower()
            assert "httponly" in cookie and "samesite=strict" in cookie and "path=/ui" in cookie
            assert ("; secure" in cookie) is secure, (base, cookie)
            assert secret not in cookie  # the token itself never reaches the browser's cookie jar

            again = client.get("/ui/sign-in")  # the form's binding cookie went with the first sign-in
            wrong = client.post("/ui/sign-in", data={"token": "ap_" + "x" * 43, "csrf_token": csrf_of(again.text)})
            assert wrong.status_code == 401 and "unknown token" in wrong.text
            assert not any(v.startswith(SESSION_COOKIE) for v in wrong.headers.get_list("set-cookie"))


def test_without_plain_http_every_cookie_is_secure_even_on_loopback(make_app, sqlite_only: None) -> None:  # type: ignore[no-untyped-def]
    with TestClient(make_app(), base_url="http://127.0.0.1") as client:  # plain HTTP not asked for
        form = client.get("/ui/sign-in")
        assert "; secure" in _cookie_header(form, "auditpack_signin").lower()


def test_pages_carry_the_csp_and_no_inline_script_one_h1_and_labelled_fields(
    officer_client: tuple[TestClient, str], sqlite_only: None
) -> None:
    client, _csrf = officer_client
    for path in (*OFFICER_PAGES, "/ui/sign-in", "/ui/no-such-page"):
        response = client.get(path)
        assert response.status_code == (404 if "no-such" in path else 200), (path, response.text[:500])
        assert response.headers["content-security-policy"] == CSP, path
        assert "'unsafe-inline'" not in CSP and "'unsafe-eval'" not in CSP and "script-src 'self'" in CSP
        page = facts(response.text)
        assert page.scripts == [{"src": "/ui/static/htmx.min.js", "defer": None}], path
        assert page.inline_handlers == [] and page.inline_styles == 0, path
        assert page.h1 == 1, path
        assert unlabelled(page) == [], path
    assert client.get("/openapi.json").json()["paths"].keys().isdisjoint({p for p in OFFICER_PAGES})
    assert not any(path.startswith("/ui") for path in client.get("/openapi.json").json()["paths"])


def test_htmx_is_served_by_the_app_as_vendored(client: TestClient) -> None:
    served = client.get("/ui/static/htmx.min.js")
    assert served.status_code == 200 and "javascript" in served.headers["content-type"]
    digest = hashlib.sha256(served.content).hexdigest()
    assert digest in (STATIC / "VENDORED.md").read_text()  # the recorded version is the file served
    assert client.get("/", follow_redirects=False).headers["location"] == "/ui/"
    anonymous = client.get("/ui/", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/ui/sign-in")


def test_forged_posts_without_the_csrf_token_are_refused_and_change_nothing(
    officer_client: tuple[TestClient, str], engine: Engine, sqlite_only: None
) -> None:
    client, csrf = officer_client
    exception = {
        "check_id": "s3.default_encryption",
        "justification": "Legacy bucket pending migration to the new account this quarter.",
        "compensating": "Bucket policy denies public access.",
        "expires_at": (utcnow() + timedelta(days=90)).date().isoformat(),
        "next": "/ui/",
    }
    assert client.post("/ui/exceptions", data=exception).status_code == 403
    assert client.post("/ui/exceptions", data={**exception, "csrf_token": "forged"}).status_code == 403
    other_site = client.post(
        "/ui/exceptions", data={**exception, "csrf_token": csrf}, headers={"origin": "https://evil.example"}
    )
    assert other_site.status_code == 403 and "another site" in other_site.text
    upload = client.post(
        "/ui/evidence-items",
        data={"kind": "document", "title": "Policy", "controls": CONTROL, "owner": "CISO"},
        files={"file": ("policy.pdf", PDF, "application/pdf")},
    )
    assert upload.status_code == 403 and "CSRF" in upload.text
    assert client.post("/ui/sign-out").status_code == 403
    assert service.list_exceptions(engine, as_of=utcnow(), limit=10).rows == ()
    assert service.list_items(engine, as_of=utcnow(), limit=10).rows == ()

    accepted = client.post("/ui/exceptions", data={**exception, "csrf_token": csrf}, follow_redirects=False)
    assert accepted.status_code == 303, accepted.text[-800:]
    assert accepted.headers["location"] == "/ui/"
    assert [e.check_id for e in service.list_exceptions(engine, as_of=utcnow(), limit=10).rows] == [
        "s3.default_encryption"
    ]
    # Sign-out with the token ends the browser's session.
    out = client.post("/ui/sign-out", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and f'{SESSION_COOKIE}=""' in _cookie_header(out, SESSION_COOKIE)
    assert client.get("/ui/", follow_redirects=False).status_code == 303


def test_upload_goes_through_the_api_validation(officer_client: tuple[TestClient, str], sqlite_only: None) -> None:
    client, csrf = officer_client
    fields = {"csrf_token": csrf, "kind": "document", "title": "Policy", "controls": CONTROL, "owner": "CISO"}
    elf = client.post(
        "/ui/evidence-items", data=fields, files={"file": ("x.pdf", b"\x7fELF" + bytes(300), "application/pdf")}
    )
    assert elf.status_code == 415
    no_title = client.post(
        "/ui/evidence-items", data={**fields, "title": ""}, files={"file": ("p.pdf", PDF, "application/pdf")}
    )
    assert no_title.status_code == 422 and "title" in no_title.text
    good = client.post(
        "/ui/evidence-items",
        data={**fields, "next": "https://evil.example/"},
        files={"file": ("p.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert good.status_code == 303 and good.headers["location"] == "/ui/"  # never sent to another site
    item = client.get("/ui/evidence-items/1")
    assert "Submitted item 1" in item.text or "submitted" in item.text
    assert "Your submission: another officer approves or rejects it." in item.text
    own = client.post("/ui/evidence-items/1/approve", data={"csrf_token": csrf})
    assert own.status_code == 403 and "their own" in own.text


def test_the_session_ends_with_its_token(ui_app: FastAPI, engine: Engine, sqlite_only: None) -> None:
    token_id, secret = issue(engine, Role.OFFICER, note="bob")
    with TestClient(ui_app, base_url="http://127.0.0.1") as client:
        sign_in(client, secret)
        assert client.get("/ui/runs").status_code == 200
        with session_factory(engine)() as session:
            tokens.revoke_token(session, token_id=token_id, now=utcnow())
        ended = client.get("/ui/runs", follow_redirects=False)
        assert ended.status_code == 303 and ended.headers["location"].startswith("/ui/sign-in?reason=")
        assert "revoked" in client.get(ended.headers["location"]).text
        htmx = client.get("/ui/runs", headers={"HX-Request": "true"}, follow_redirects=False)
        assert htmx.headers["hx-redirect"].startswith("/ui/sign-in")
        # A session cookie moved to another token does not verify.
        _, other = issue(engine, Role.OFFICER)
        third_id, _ = issue(engine, Role.OFFICER)
        sign_in(client, other)
        assert client.get("/ui/runs", follow_redirects=False).status_code == 200
        forged = re.sub(r"^[0-9]+\.", f"{third_id}.", client.cookies[SESSION_COOKIE])
        client.cookies.clear()
        client.cookies.set(SESSION_COOKIE, forged)
        refused = client.get("/ui/runs", follow_redirects=False)
        assert refused.status_code == 303 and "not+valid" in refused.headers["location"]


def test_an_auditor_sees_only_granted_packets_and_every_page_is_logged(
    ui_app: FastAPI, engine: Engine, officer: str, sqlite_only: None
) -> None:
    with TestClient(ui_app, base_url="http://127.0.0.1") as api:
        granted = request_ready_packet(api, officer)
        other = request_ready_packet(api, officer)
        grant = api.post(
            f"/v1/packets/{granted['id']}/grants",
            json={"expires_in_days": 3, "note": "Acme LLP"},
            headers=auth(officer),
        ).json()
    with TestClient(ui_app, base_url="http://127.0.0.1") as client:
        sign_in(client, grant["token"])
        listing = client.get("/ui/packets")
        assert granted["id"] in listing.text and other["id"] not in listing.text
        assert "Request a packet" not in listing.text
        page = client.get(f"/ui/packets/{granted['id']}")
        assert page.status_code == 200 and "Download the signed PDF" in page.text and "Access log" not in page.text
        for hidden in (
            f"/ui/packets/{other['id']}",
            "/ui/findings",
            "/ui/runs",
            "/ui/owners",
            "/ui/frameworks/hipaa/controls",
            f"/ui/packets/{other['id']}/pdf",
        ):
            assert client.get(hidden).status_code == 404, hidden
        assert client.get("/ui/", follow_redirects=False).headers["location"] == "/ui/packets"
        checked = client.get(f"/ui/packets/{granted['id']}/verification", headers={"HX-Request": "true"})
        assert checked.status_code == 200 and "verified" in checked.text and "<html" not in checked.text
        pdf = client.get(f"/ui/packets/{granted['id']}/pdf")
        assert pdf.status_code == 200 and hashlib.sha256(pdf.content).hexdigest() == granted["pdf"]["sha256"]
    with session_factory(engine)() as session:
        entries = session.scalars(
            select(AccessLogEntry).where(AccessLogEntry.token_id == grant["token_id"]).order_by(AccessLogEntry.seq)
        ).all()
    seen = [(e.action, e.path, e.status_code) for e in entries]
    assert ("request", "/ui/packets", 200) in seen
    assert ("request", f"/ui/packets/{granted['id']}", 200) in seen
    assert ("request", f"/ui/packets/{other['id']}", 404) in seen and ("request", "/ui/findings", 404) in seen
    assert ("download.pdf", f"/ui/packets/{granted['id']}/pdf", 200) in seen
    assert [e.packet_id for e in entries if e.path == f"/ui/packets/{granted['id']}"] == [granted["id"]]


def test_controls_filter_and_htmx_fragments(officer_client: tuple[TestClient, str], sqlite_only: None) -> None:
    client, _ = officer_client
    met = client.get("/ui/frameworks/hipaa/controls?status=met&q=")
    assert "0 of 1 requirements" in met.text
    found = client.get("/ui/frameworks/hipaa/controls?status=not_met&q=encryption+decryption")
    assert "1 of 1 requirements" in found.text and "164.312(a)(2)(iv)" in found.text
    fragment = client.get("/ui/frameworks/hipaa/controls?q=nothing-like-this", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="results">') and "<html" not in fragment.text
    assert fragment.headers["vary"] == "HX-Request"
    first = client.get("/ui/findings?status=pass")
    rows = re.findall(r"<code>s3.default_encryption</code>|<code>iam.root_mfa_enabled</code>", first.text)
    cursor = re.search(r'hx-get="/ui/findings\?status=pass&amp;cursor=([^"]+)"', first.text)
    assert rows and cursor is None  # 17 passing findings in the latest run: one page
    bad = client.get("/ui/findings?status=sideways")
    assert bad.status_code == 422 and "status" in bad.text


def test_a_run_page_shows_its_drift_with_who_changed_it_and_pages_by_htmx(
    officer_client: tuple[TestClient, str], store: EvidenceStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _ = officer_client
    runs = record_two_runs(store)
    monkeypatch.setattr(ui_runs, "DIFF_PAGE", 2)  # five resources: three pages
    page = client.get(f"/ui/runs/{runs.after.id}")
    assert page.status_code == 200, page.text
    assert "not available in this version" not in page.text  # the placeholder is gone
    shown = facts(page.text)
    assert shown.h1 == 1 and shown.inline_handlers == [] and shown.inline_styles == 0 and unlabelled(shown) == []
    assert f'<a href="/ui/runs/{runs.before.id}">run {runs.before.id}</a>' in page.text  # the run before, by default
    assert "<code>IpPermissions: added tcp 22 from 0.0.0.0/0</code>" in page.text  # the field-level change line
    assert f"<code>{ACTOR}</code>" in page.text and "203.0.113.9" in page.text  # who changed it, from where
    assert "newly failing" in page.text and "tcp 22 open to 0.0.0.0/0" in page.text
    assert f"{A2} / eu-west-1" in page.text  # the region only the older run collected
    assert f"<code>{SG}</code>" in page.text and f"<code>{VOLUME}</code>" in page.text
    assert f"<code>{NEW}</code>" not in page.text

    # The next pages come as htmx fragments of resources, through the API's cursor (bound to its pair of runs).
    seen, path = [], _next_drift(page.text)
    while path:
        fragment = client.get(path, headers={"HX-Request": "true"})
        assert fragment.status_code == 200 and "<html" not in fragment.text and "Changes since" not in fragment.text
        seen += re.findall(r"<h3><code>([^<]+)</code>", fragment.text)
        last, path = path, _next_drift(fragment.text)
    assert seen == [GONE, KEPT, NEW]
    wrong_pair = client.get(last.replace(f"/runs/{runs.after.id}?", f"/runs/{runs.before.id}?against={runs.after.id}&"))
    assert wrong_pair.status_code == 400

    # A chosen run to compare with; the first run has nothing before it and a run with itself is refused: both said
    # on the page, not as an error page.
    reverse = client.get(f"/ui/runs/{runs.before.id}?against={runs.after.id}")
    assert reverse.status_code == 200 and f'<option value="{runs.after.id}" selected>' in reverse.text
    first = client.get(f"/ui/runs/{runs.before.id}")
    assert first.status_code == 200 and "has no earlier complete or partial run to compare with" in first.text
    same = client.get(f"/ui/runs/{runs.after.id}?against={runs.after.id}")
    assert same.status_code == 200 and "compared with itself" in same.text


def _next_drift(html: str) -> str | None:
    found = re.search(r'hx-get="(/ui/runs/\d+\?[^"]+)"', html)  # not the control changes' /ui/runs/{id}/controls
    return found.group(1).replace("&amp;", "&") if found else None
