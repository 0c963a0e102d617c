"""What the pages hold between requests (api.ui.board, api.ui.customer_snapshot) and how much a page shows: a held
status is served until what it rests on changes, and evaluated again in the background when only time passed;
the trend's past runs are evaluated in the background, once each; a review shows on the next page at once; a
control page lists a bounded number of resources and sends the reader to the findings browser for the rest."""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.executors import CollectRequest
from api.models import Role
from api.ui.board import REFRESH, StatusBoard
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import Finding, FindingStatus
from evidence.customer import service
from evidence.customer.policy import Actor
from evidence.customer.policy import Role as CustomerRole
from evidence.findings import save_findings
from evidence.store import EvidenceStore
from frameworks.results import FrameworkStatus
from tests.api.conftest import config, issue, wait_for
from tests.api.customer import CONTROL, POLICY
from tests.api.executors import StoreCollector
from tests.api.sources import ListFindings, OneFramework
from tests.ui.conftest import sign_in

ALICE = Actor("Alice Officer", CustomerRole.OFFICER)
BOB = Actor("Bob Officer", CustomerRole.OFFICER)


@dataclass
class CountingFramework(OneFramework):
    """OneFramework that counts its evaluations and can fail a check on `failing` resources."""

    calls: list[datetime | None] = field(default_factory=list)  # the as_of of each evaluation
    failing: int = 0

    def status(self, framework_id: str, *, as_of: datetime | None, accounts: Sequence[str] = ()) -> FrameworkStatus:
        self.calls.append(as_of)
        status = super().status(framework_id, as_of=as_of, accounts=accounts)
        if not self.failing:
            return status
        control = status.controls[0]
        failing = tuple(
            Finding(
                check_id="s3.default_encryption",
                status=FindingStatus.FAIL,
                account_id="111111111111",
                region="us-east-1",
                resource_id=f"arn:aws:s3:::unencrypted-{index:03d}",
                reason="no default encryption",
                observed_at=datetime(2026, 11, 1, tzinfo=UTC),
                evidence=(f"{index:064x}",),
                resource_type="bucket",
            )
            for index in range(self.failing)
        )
        verdict = replace(control.checks[0], failing=failing, failed=self.failing)
        return replace(status, controls=(replace(control, checks=(verdict,)),))


class Jobs:
    """A `Background.submit` that keeps the jobs for the test to run."""

    def __init__(self) -> None:
        self.queued: dict[Hashable, Callable[[], None]] = {}

    def __call__(self, key: Hashable, job: Callable[[], None], *, urgent: bool = False) -> None:
        self.queued.setdefault(key, job)

    def run(self) -> None:
        while self.queued:
            self.queued.pop(next(iter(self.queued)))()


def _attest(engine: Engine, title: str) -> int:
    item = service.submit_attestation(
        engine,
        policy=POLICY,
        actor=ALICE,
        statement="Access reviews ran every quarter.",
        statement_by="Alice Officer, CISO",
        title=title,
        controls=[CONTROL],
        owner="CISO",
    )
    return item.id


def test_a_held_status_is_served_until_what_it_rests_on_changes(engine: Engine, store: EvidenceStore) -> None:
    source, jobs, clock = CountingFramework(), Jobs(), [0.0]
    board = StatusBoard(jobs, clock=lambda: clock[0])
    first = board.status(source, "hipaa", engine=engine)
    assert board.status(source, "hipaa", engine=engine) is first and len(source.calls) == 1 and not jobs.queued

    clock[0] = REFRESH + 1  # only time passed: the held status is shown, and evaluated again in the background
    assert board.status(source, "hipaa", engine=engine) is first and len(source.calls) == 1
    assert list(jobs.queued) == [("status", "hipaa")]
    jobs.run()
    refreshed = board.status(source, "hipaa", engine=engine)
    assert refreshed is not first and source.calls == [None, None]

    _attest(engine, "Quarterly access review")  # the customer ledger moved: the page waits for a new evaluation
    assert board.status(source, "hipaa", engine=engine) is not refreshed and len(source.calls) == 3
    StoreCollector(store)(CollectRequest(), "tests", trigger="cli")  # a new run sealed: likewise
    sealed = board.status(source, "hipaa", engine=engine)
    assert len(source.calls) == 4 and board.status(source, "hipaa", engine=engine) is sealed
    save_findings(store, store.latest_run().id, [], thresholds=Thresholds())  # its findings (re-)evaluated
    assert board.status(source, "hipaa", engine=engine) is not sealed and len(source.calls) == 5
    assert not jobs.queued


@pytest.fixture
def counted(make_app: Callable[..., FastAPI], engine: Engine) -> Iterator[tuple[TestClient, CountingFramework]]:
    source = CountingFramework(failing=60)
    app = make_app(
        customer_policy=POLICY,
        frameworks_source=source,
        findings_source=ListFindings(),
        config=config(ui_plain_http=True),
    )
    with TestClient(app, base_url="http://127.0.0.1") as client:
        sign_in(client, issue(engine, Role.OFFICER, note="carol")[1])
        yield client, source


def test_the_trend_is_evaluated_in_the_background_once_per_run(
    counted: tuple[TestClient, CountingFramework], store: EvidenceStore
) -> None:
    client, source = counted
    collect = StoreCollector(store)
    run_ids = [collect(CollectRequest(), "tests", trigger="cli") for _ in range(2)]
    finished = {store.get_run(run_id).finished_at for run_id in run_ids}

    first = client.get("/ui/frameworks/hipaa/trend", headers={"HX-Request": "true"})
    assert first.status_code == 200
    if "being evaluated" in first.text:  # answered before the background thread was done: it asks again
        assert 'hx-trigger="load delay:3s"' in first.text and 'aria-busy="true"' in first.text

    def complete() -> str | None:
        answer = client.get("/ui/frameworks/hipaa/trend", headers={"HX-Request": "true"}).text
        return None if "being evaluated" in answer else answer

    done = wait_for(complete)
    assert "hx-trigger" not in done and len(re.findall(r"run \d+: not met 1", done)) == 2
    past = [moment for moment in source.calls if moment is not None]
    assert sorted(past) == sorted(finished)  # each run evaluated as of its end, once
    client.get("/ui/frameworks/hipaa/trend", headers={"HX-Request": "true"})
    assert [moment for moment in source.calls if moment is not None] == past


def test_a_started_server_evaluates_every_framework_before_the_first_dashboard(
    make_app: Callable[..., FastAPI], engine: Engine, store: EvidenceStore, sqlite_only: None
) -> None:
    """`auditpack serve` (ui_warm_statuses) evaluates each framework in the background at start; the first
    dashboard is then served from what that evaluation holds, not evaluated again. Off, nothing is evaluated
    until a page asks."""
    StoreCollector(store)(CollectRequest(), "tests", trigger="cli")
    for warm in (False, True):
        source = CountingFramework()
        app = make_app(
            customer_policy=POLICY,
            frameworks_source=source,
            findings_source=ListFindings(),
            config=config(ui_plain_http=True, ui_warm_statuses=warm),
        )
        board = next(route.app.state.board for route in app.routes if getattr(route, "path", "") == "/ui")
        if not warm:
            assert board.held("hipaa") is None and source.calls == []
            continue
        held = wait_for(lambda: board.held("hipaa"))  # noqa: B023 - the board of this iteration
        assert source.calls == [None]  # evaluated once, as of now, without any request
        with TestClient(app, base_url="http://127.0.0.1") as client:
            sign_in(client, issue(engine, Role.OFFICER, note=f"dana-{warm}")[1])
            page = client.get("/ui/")
        assert page.status_code == 200 and source.calls == [None]
        assert board.held("hipaa") is held


def test_a_review_shows_on_the_next_page(
    counted: tuple[TestClient, CountingFramework], engine: Engine, sqlite_only: None
) -> None:
    client, _ = counted
    item_id = _attest(engine, "Quarterly access review")
    queue = client.get("/ui/").text
    assert f"Item {item_id}: Quarterly access review" in queue.split('id="review"')[1]
    control = client.get("/ui/frameworks/hipaa/controls/164.312(a)(2)(iv)")
    assert f"Item {item_id}" not in control.text  # it names a SOC 2 control, not this one
    service.approve(engine, item_id=item_id, actor=BOB, now=datetime.now(UTC))
    after = client.get("/ui/").text
    assert f"Item {item_id}:" not in after.split('id="review"')[1] and "Nothing awaits review." in after


def test_what_lapses_with_time_alone_shows_when_it_does(
    make_app: Callable[..., FastAPI], engine: Engine, sqlite_only: None
) -> None:
    """The snapshot keeps derived lists between the rows' own moments: crossing one (an item's validity entering
    the 30-day window) shows without any write."""
    now = [datetime.now(UTC)]
    item_id = service.submit_attestation(
        engine,
        policy=POLICY,
        actor=ALICE,
        statement="Backups were restored in a test every month.",
        statement_by="Alice Officer, CISO",
        title="Restore tests",
        controls=[CONTROL],
        owner="CISO",
        valid_until=now[0] + timedelta(days=30, hours=6),
    ).id
    service.approve(engine, item_id=item_id, actor=BOB)
    app = make_app(
        customer_policy=POLICY,
        frameworks_source=OneFramework(),
        config=config(ui_plain_http=True),
        clock=lambda: now[0],
    )
    with TestClient(app, base_url="http://127.0.0.1") as client:
        sign_in(client, issue(engine, Role.OFFICER, note="carol")[1])
        expiring = client.get("/ui/").text.split('id="expiring"')[1].split("</section>")[0]
        assert "Restore tests" not in expiring  # lapses in 30 days and 6 hours
        now[0] += timedelta(hours=7)
        expiring = client.get("/ui/").text.split('id="expiring"')[1].split("</section>")[0]
        assert f"Item {item_id}: Restore tests" in expiring


def test_a_control_page_lists_the_first_resources_and_links_the_rest(
    counted: tuple[TestClient, CountingFramework], sqlite_only: None
) -> None:
    client, _ = counted
    page = client.get("/ui/frameworks/hipaa/controls/164.312(a)(2)(iv)").text
    listed = re.findall(r"arn:aws:s3:::unencrypted-(\d{3})</code>", page)
    assert listed == [f"{index:03d}" for index in range(50)]
    assert 'href="/ui/findings?check=s3.default_encryption&amp;status=fail">60 failing</a>' in page
