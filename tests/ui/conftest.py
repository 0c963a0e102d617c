"""Fixtures for the web interface: the API's app (with small real sources and the customer evidence policy) and
signed-in browsers-without-a-browser (TestClient with the session cookie)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import Engine

from api.models import Role
from tests.api.conftest import (  # noqa: F401 - the API's fixtures, shared
    admin,
    builder,
    client,
    collector,
    config,
    data_dir,
    executors,
    issue,
    make_app,
    officer,
    verifier,
)
from tests.api.customer import POLICY
from tests.api.sources import ListFindings, OneFramework

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def ui_app(make_app: Callable[..., FastAPI]) -> FastAPI:  # noqa: F811 - the shared fixture
    return make_app(
        customer_policy=POLICY,
        frameworks_source=OneFramework(),
        findings_source=ListFindings(),
        config=config(ui_plain_http=True),
    )


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def sign_in(browser: TestClient, secret: str) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    form = browser.get("/ui/sign-in")
    assert form.status_code == 200
    done = browser.post("/ui/sign-in", data={"token": secret, "csrf_token": csrf_of(form.text)}, follow_redirects=False)
    assert done.status_code == 303, done.text
    landing = browser.get(done.headers["location"])
    assert landing.status_code == 200, landing.text
    return csrf_of(landing.text)


@pytest.fixture
def officer_client(ui_app: FastAPI, engine: Engine) -> Iterator[tuple[TestClient, str]]:
    secret = issue(engine, Role.OFFICER, note="alice")[1]
    with TestClient(ui_app, base_url="http://127.0.0.1") as signed_in:
        yield signed_in, sign_in(signed_in, secret)


CHROMIUM = shutil.which("chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium (`.ci/run` installs it; nothing downloads a browser), open for one module only.

    Playwright's sync API keeps an asyncio loop running in the test thread while it is open. A session-long browser
    (pytest-playwright's) leaves that loop running under every later test, and each `asyncio.run` there (pyHanko's
    signature validation) fails with "cannot be called from a running event loop"; leaving `sync_playwright()`
    stops the loop."""
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield launched
        finally:
            launched.close()
