"""The web interface in a real browser (Debian's chromium through Playwright) against a live server: the app as
`auditpack serve` builds it over a collected estate (real catalogs, stored findings, the customer evidence
service) with the production executors: packets are built by `auditpack.packets.make_packet` (reports: PDF/A,
PAdES signature by the local CA of the data directory, bundle with its detached CMS signature) and verified by
`reports.verify`.

One officer signs in with the keyboard, uploads a document to a control that needs evidence, and a second officer
(another browser context) approves it: the control turns met. An exception is requested and approved by the two of
them: the control turns excepted. A packet is requested, watched until ready, downloaded, and the downloaded PDF
and bundle pass `auditpack verify` (and a copy with one byte changed fails it); an auditor is granted it, signs in,
downloads it and cannot reach another packet; the officer sees the auditor's page views in the packet's access
log, revokes the grant and the auditor's session ends. No page breaks the Content-Security-Policy, and axe-core
finds no serious accessibility violation on the main pages.

Set AUDITPACK_UI_SCREENSHOTS=DIR to write screenshots of the main pages (docs/ui-*.png are made this way).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, expect

from api.models import Role
from auditpack.api_wiring import build_app
from auditpack.settings import load_settings
from core.clock import utcnow
from frameworks.results import AutomatedResult, Automation, OverallStatus
from reports.localca import local_ca_certificate
from tests.api.conftest import issue
from tests.api.live import serve
from tests.scenario import Collected

pytestmark = pytest.mark.e2e
SHOTS = os.environ.get("AUDITPACK_UI_SCREENSHOTS")
# A review re-evaluates the framework for the page it returns to: seconds on a busy 2-core machine.
expect.set_options(timeout=30_000)
PACKET_URL = re.compile(r"/ui/packets/[0-9a-f-]{36}$")


@pytest.fixture(scope="module")
def live(collected: Collected, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("ui-live")
    database = collected.copy_to(root / "auditpack.db")
    settings = load_settings(
        database_url=f"sqlite:///{database}", data_dir=root / "data", ui_plain_http=True, schedule=""
    )
    app = build_app(settings)  # the executors `auditpack serve` runs: the real packet builder and verifier
    engine = app.state.context.engine
    with serve(app) as base:
        yield {"base": base, "engine": engine, "frameworks": app.state.context.frameworks, "data": settings.data_dir}
    engine.dispose()


def _context(browser: Browser, base: str, problems: list[str]) -> tuple[BrowserContext, Page]:
    context = browser.new_context(base_url=base, accept_downloads=True)
    page = context.new_page()
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    return context, page


def _tab_to(page: Page, selector: str, limit: int = 60) -> None:
    """Press Tab until `selector` has the focus: the page must be reachable by keyboard."""
    target = page.locator(selector)
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


def _sign_in(page: Page, secret: str) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/ui/sign-in"))
    _tab_to(page, "#token")
    page.keyboard.type(secret)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    if "/sign-in" in page.url or page.locator(".flash.error").count():
        raise AssertionError(page.locator("main").inner_text())


def _accessible(page: Page) -> None:
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == [], results.generate_report()


def _shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"ui-{name}.png"), full_page=False)


def _controls(frameworks: Any) -> tuple[str, str, str, str]:
    """(framework, a manual control needing evidence, framework, a control its checks fail, with no gap)."""
    manual = failing = None
    for framework_id in ("hipaa", "soc2", "pci-dss"):
        for control in frameworks.status(framework_id, as_of=None).controls:
            if control.heading:
                continue
            if (
                manual is None
                and control.status is OverallStatus.EVIDENCE_NEEDED
                and control.automation is Automation.MANUAL
            ):
                manual = (framework_id, control.control_id)
            checks = {v.status for v in control.checks}
            if (
                failing is None
                and control.status is OverallStatus.NOT_MET
                and control.automation in (Automation.AUTOMATED, Automation.PARTIAL)
                and checks <= {AutomatedResult.FAIL, AutomatedResult.PASS, AutomatedResult.NOT_APPLICABLE}
            ):
                failing = (framework_id, control.control_id)
    assert manual and failing, (manual, failing)
    return (*manual, *failing)


def _verified_offline(run_cli: Any, files: list[Path], *, trust: Path | None, packet_id: str) -> None:
    """`auditpack verify` passes the downloaded files, trusting only the CA the server signs with (as an auditor
    handed it would), and fails a copy of the PDF with one byte of its signed content changed."""
    assert trust is not None, "the server signed without creating its local CA"
    for path in files:
        result = run_cli("verify", str(path), "--trust", str(trust), "--format", "json")
        assert result.code == 0, result.stdout + result.stderr
        report = json.loads(result.stdout)
        assert report["intact"] and report["valid"] and report["trusted"], report
        assert report["packet_id"] == packet_id and report["problems"] == [], report
    data = bytearray(files[0].read_bytes())
    data[len(data) // 3] ^= 0x01
    tampered = files[0].with_name("tampered.pdf")
    tampered.write_bytes(bytes(data))
    failed = run_cli("verify", str(tampered), "--trust", str(trust), "--format", "json")
    assert failed.code == 1 and json.loads(failed.stdout)["intact"] is False, failed.stdout


def test_officers_and_an_auditor_in_the_browser(
    browser: Browser, live: dict[str, Any], run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, engine = live["base"], live["engine"]
    alice = issue(engine, Role.OFFICER, note="alice")[1]
    bob = issue(engine, Role.OFFICER, note="bob")[1]
    manual_fw, manual_id, failing_fw, failing_id = _controls(live["frameworks"])
    problems: list[str] = []

    # -- sign in with the keyboard; the session cookie's flags; the dashboard, its htmx-loaded trend ------------
    first, page = _context(browser, base, problems)
    _sign_in(page, alice)
    expect(page.locator("h1")).to_have_text("Compliance dashboard")
    cookie = next(c for c in first.cookies() if c["name"] == "auditpack_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and cookie["path"] == "/ui"
    assert cookie["secure"] is False  # plain HTTP on loopback, as configured; Secure otherwise (test_pages)
    assert alice not in cookie["value"]
    expect(page.locator("figure.trend")).to_have_count(3)  # htmx replaced the three placeholders under the CSP
    response = page.goto("/ui/")
    assert response is not None and "script-src 'self'" in response.headers["content-security-policy"]
    assert page.eval_on_selector_all("script", "els => els.filter(e => !e.src).length") == 0
    _accessible(page)
    _shot(page, "dashboard")

    # A packet to keep from the auditor later, requested first: its build runs while the officers work.
    page.goto("/ui/packets")
    page.get_by_label("Framework").select_option("soc2")
    page.get_by_role("button", name="Request packet").click()
    page.wait_for_url(PACKET_URL)
    other_id = page.url.rsplit("/", 1)[1]

    # -- an upload to a control needing evidence; a second officer approves it: the control turns met ---------
    control_url = f"/ui/frameworks/{manual_fw}/controls/{manual_id}"
    page.goto(control_url)
    expect(page.locator("h2#summary .badge")).to_have_text("evidence needed")
    page.get_by_text("Upload a document or record").click()
    page.locator("#up-title").fill("Risk analysis 2026")
    page.locator("#up-owner").fill("CISO")
    page.get_by_label("File", exact=True).set_input_files(
        files=[{"name": "risk.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.7\n%%EOF\n"}]
    )
    page.get_by_role("button", name="Upload for review").click()
    expect(page.locator("#flash")).to_contain_text("awaits another officer's review")
    item_id = re.search(r"Submitted item (\d+)", page.locator("#flash").inner_text()).group(1)  # type: ignore[union-attr]
    expect(page.get_by_text("Your submission: another officer approves or rejects it.")).to_be_visible()
    _accessible(page)
    _shot(page, "control")

    second, reviewer = _context(browser, base, problems)
    _sign_in(reviewer, bob)
    reviewer.goto(control_url)
    _tab_to(reviewer, f"button:has-text('Approve item {item_id}')")
    reviewer.keyboard.press("Enter")
    expect(reviewer.locator("#flash")).to_contain_text(f"Item {item_id} is now approved")
    expect(reviewer.locator("h2#summary .badge")).to_have_text("met")

    # -- an exception for the failing check: requested by one officer, approved by the other ------------------
    failing_url = f"/ui/frameworks/{failing_fw}/controls/{failing_id}"
    page.goto(failing_url)
    expect(page.locator("h2#summary .badge")).to_have_text("not met")
    page.get_by_text("Request an exception").click()
    page.get_by_label("Covering").select_option("control")  # every failing finding of the control
    page.get_by_label("Justification (at least 30 characters)").fill(
        "Replacement scheduled with the Q3 migration, tracked as RISK-12."
    )
    page.get_by_label("Compensating controls").fill(
        "Access limited to the platform team; weekly review of the findings."
    )
    page.get_by_label("Expires on").fill((utcnow() + timedelta(days=60)).date().isoformat())
    page.get_by_role("button", name="Request exception").click()
    expect(page.locator("#flash")).to_contain_text("awaits another officer's approval")
    reviewer.goto(failing_url)
    reviewer.get_by_role("button", name=re.compile(r"Approve exception \d+")).click()
    expect(reviewer.locator("#flash")).to_contain_text("is now approved")
    # The automated axis turns excepted; the overall status is then the evidence axis's (frameworks.overall).
    expect(reviewer.locator("#summary-axes")).to_contain_text("Automated: excepted")
    expect(reviewer.locator("h2#summary .badge")).not_to_have_text("not met")

    # -- a packet: requested, followed live, downloaded, verified with `auditpack verify` ------------------------
    page.goto("/ui/packets")
    page.get_by_label("Framework").select_option("hipaa")
    page.get_by_role("button", name="Request packet").click()
    page.wait_for_url(PACKET_URL)
    packet_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#progress .badge")).to_have_text("ready", timeout=120_000)  # htmx polls until then
    shown = page.locator("#progress li").first.locator("code").inner_text()
    pdf, bundle = tmp_path / "packet.pdf", tmp_path / "bundle.zip"
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the signed PDF").click()
    download.value.save_as(pdf)
    assert hashlib.sha256(pdf.read_bytes()).hexdigest() == shown
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the evidence bundle").click()
    download.value.save_as(bundle)
    monkeypatch.setenv("AUDITPACK_DATA_DIR", str(tmp_path / "auditor"))  # the verifier's machine: no CA of its own
    _verified_offline(run_cli, [pdf, bundle], trust=local_ca_certificate(live["data"]), packet_id=packet_id)
    page.get_by_role("link", name="Verify the files and signatures now").click()
    expect(page.locator("#verification")).to_contain_text("verified")
    _accessible(page)
    _shot(page, "packet")

    # -- a grant; the auditor signs in, downloads, and cannot reach anything else ------------------------------
    page.get_by_label("Who it is for (e.g. the audit firm)").fill("Acme LLP")
    page.get_by_role("button", name="Grant an auditor access").click()
    token = page.locator("#secret").inner_text().strip()
    assert token.startswith("ap_")
    third, auditor = _context(browser, base, problems)
    _sign_in(auditor, token)
    expect(auditor.locator("h1")).to_have_text("Your granted packets")
    expect(auditor.locator("tbody a")).to_have_count(1)
    auditor.locator("tbody a").click()
    with auditor.expect_download() as download:
        auditor.get_by_role("link", name="Download the signed PDF").click()
    assert hashlib.sha256(Path(download.value.path()).read_bytes()).hexdigest() == shown
    _accessible(auditor)
    for hidden in (f"/ui/packets/{other_id}", "/ui/findings", control_url):
        assert auditor.goto(hidden).status == 404, hidden  # type: ignore[union-attr]
        expect(auditor.locator("h1")).to_have_text("Not found")

    # -- the access log shows the auditor's page views; revoking the grant ends the auditor's session ----------
    page.goto(f"/ui/packets/{packet_id}")
    log = page.locator("section[aria-labelledby=log]")
    expect(log).to_contain_text(f"GET /ui/packets/{packet_id}")
    expect(log).to_contain_text("download.pdf")
    page.get_by_role("button", name=re.compile(r"Revoke grant \d+")).click()
    expect(page.locator("#flash")).to_contain_text("revoked")
    auditor.goto("/ui/packets")
    expect(auditor).to_have_url(re.compile(r"/ui/sign-in\?reason="))
    expect(auditor.locator(".flash")).to_contain_text("revoked")

    # -- sign out ------------------------------------------------------------------------------------------------
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/ui/sign-in"))
    page.goto("/ui/runs")
    expect(page).to_have_url(re.compile(r"/ui/sign-in"))
    _shot(page, "sign-in")

    for context in (first, second, third):
        context.close()
    csp = [p for p in problems if "Content Security Policy" in p or "Refused to" in p]
    assert csp == [], csp
