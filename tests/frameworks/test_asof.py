"""Status from the store as of a day: the latest complete or partial run at or before it, never a failed or
interrupted one, with a partial run's gaps counted and old evidence treated as stale."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine

from evidence.checks.types import Finding, FindingStatus, ServiceUsage
from evidence.customer.types import CustomerEvidence
from evidence.models import RunStatus
from evidence.store import EvidenceStore
from frameworks.asof import InvalidDateError, end_of_day, parse_day, status_as_of
from frameworks.results import AutomatedResult, FrameworkStatus, OverallStatus
from tests.frameworks.helpers import mini_catalog, record_run, usage


class Providers:
    """Findings derived from a run's stored evidence (every item passes), as the collectors' evaluation would."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def findings(self, store: EvidenceStore, run_id: int) -> list[Finding]:
        self.calls.append(("findings", run_id))
        check_of = {"s3.bucket_encryption": "s3.default_encryption", "iam.account_summary": "iam.root_mfa_enabled"}
        return [
            Finding(
                check_id=check_of[item.kind],
                status=FindingStatus.PASS,
                account_id=item.account_id,
                region=item.region,
                resource_id=item.resource_id,
                reason="ok",
                evidence=(item.sha256,),
                observed_at=item.observed_at,
            )
            for item in store.iter_evidence(run_id)
        ]

    def usage(self, store: EvidenceStore, run_id: int) -> ServiceUsage:
        self.calls.append(("usage", run_id))
        return usage("s3")

    def customer(self, store: EvidenceStore, as_of: datetime) -> CustomerEvidence:
        return CustomerEvidence()


def _status(engine: Engine, as_of: datetime, providers: Providers) -> FrameworkStatus:
    return status_as_of(
        EvidenceStore(engine),
        mini_catalog(),
        as_of=as_of,
        freshness_hours=48,
        findings_for=providers.findings,
        usage_for=providers.usage,
        customer_for=providers.customer,
    )


def _a(status: FrameworkStatus) -> OverallStatus:
    return next(c.status for c in status.controls if c.control_id == "A")


def test_uses_the_latest_usable_run_at_or_before_as_of(engine: Engine) -> None:
    first = record_run(engine, datetime(2026, 3, 10, 2, 0, tzinfo=UTC))
    second = record_run(engine, datetime(2026, 3, 11, 2, 0, tzinfo=UTC))
    record_run(engine, datetime(2026, 3, 11, 9, 0, tzinfo=UTC), status=RunStatus.FAILED)
    record_run(engine, datetime(2026, 3, 11, 10, 0, tzinfo=UTC), status=RunStatus.INTERRUPTED)
    record_run(engine, datetime(2026, 3, 12, 2, 0, tzinfo=UTC))  # after the as-of day
    providers = Providers()
    status = _status(engine, end_of_day(date(2026, 3, 11)), providers)
    assert [run.id for run in status.runs] == [second.id]
    assert status.runs[0].status == "complete" and status.runs[0].digest == second.digest
    assert providers.calls == [("findings", second.id), ("usage", second.id)]
    assert _a(status) is OverallStatus.MET
    earlier = _status(engine, end_of_day(date(2026, 3, 10)), Providers())
    assert [run.id for run in earlier.runs] == [first.id]


def test_a_partial_runs_gaps_count_so_nothing_resting_on_them_passes(engine: Engine) -> None:
    run = record_run(engine, datetime(2026, 3, 11, 2, 0, tzinfo=UTC), gap=True)
    assert run.status == "partial"
    status = _status(engine, end_of_day(date(2026, 3, 11)), Providers())
    assert status.runs[0].status == "partial" and status.gap_count == 1
    a = next(c for c in status.controls if c.control_id == "A")
    assert a.status is OverallStatus.INCOMPLETE and a.gaps[0].operation == "ListBuckets"
    # the IAM-based control is not touched by an S3 gap
    assert next(c for c in status.controls if c.control_id == "P").automated is AutomatedResult.PASS


def test_evidence_older_than_the_freshness_window_is_stale(engine: Engine) -> None:
    record_run(engine, datetime(2026, 3, 8, 2, 0, tzinfo=UTC))
    status = _status(engine, end_of_day(date(2026, 3, 11)), Providers())
    assert _a(status) is OverallStatus.INCOMPLETE
    assert status.stale_count >= 1 and any("stale" in w for w in status.warnings)


def test_no_run_at_or_before_as_of_evaluates_nothing_and_says_so(engine: Engine) -> None:
    record_run(engine, datetime(2026, 3, 12, 2, 0, tzinfo=UTC))
    record_run(engine, datetime(2026, 3, 9, 2, 0, tzinfo=UTC), status=RunStatus.FAILED)
    providers = Providers()
    status = _status(engine, end_of_day(date(2026, 3, 11)), providers)
    assert status.runs == () and providers.calls == []
    assert _a(status) is OverallStatus.INCOMPLETE
    assert "no complete or partial evidence run" in status.warnings[0]


def test_end_of_day_includes_a_run_finished_late_that_day() -> None:
    assert end_of_day(date(2026, 3, 11)) == datetime(2026, 3, 11, 23, 59, 59, 999999, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2026-13-01", "2026-02-30", "11/03/2026", "20260311", "2026-W11-3", "yesterday", ""])
def test_bad_dates_are_refused_with_the_expected_form(text: str) -> None:
    with pytest.raises(InvalidDateError) as info:
        parse_day(text, today=date(2026, 12, 31))
    assert info.value.exit_code == 2 and "expected YYYY-MM-DD" in info.value.message


def test_future_dates_are_refused() -> None:
    with pytest.raises(InvalidDateError, match="is in the future"):
        parse_day("2026-04-01", today=date(2026, 3, 31))
    assert parse_day("2026-03-31", today=date(2026, 3, 31)) == date(2026, 3, 31)


def test_customer_evidence_is_read_as_of_the_same_moment(engine: Engine) -> None:
    from tests.frameworks.customer import item

    run = record_run(engine, datetime(2026, 3, 11, 2, 0, tzinfo=UTC))
    asked: list[datetime] = []

    def customer(store: EvidenceStore, as_of: datetime) -> CustomerEvidence:
        asked.append(as_of)
        return CustomerEvidence(items=(item(1, "mini:M", "mini:P"),))

    moment = end_of_day(date(2026, 3, 11))
    providers = Providers()
    status = status_as_of(
        EvidenceStore(engine),
        mini_catalog(),
        as_of=moment,
        freshness_hours=48,
        findings_for=providers.findings,
        usage_for=providers.usage,
        customer_for=customer,
    )
    assert asked == [moment] and status.runs[0].id == run.id
    m, p = (next(c for c in status.controls if c.control_id == cid) for cid in ("M", "P"))
    assert (m.status, m.evidence_items) == (OverallStatus.MET, (1,))
    assert (p.status, p.automated) == (OverallStatus.MET, AutomatedResult.PASS)  # its check passes, item 1 approved
