"""Status over a period: every capture of a month of nightly runs evaluated (tests/frameworks/period_store.py), on
both backends, and what the captures say about each control's operation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from auditpack.settings import Settings
from auditpack.wiring import stored_findings, stored_service_usage
from evidence.customer.service import customer_evidence
from evidence.findings import finding_set
from evidence.store import EvidenceStore
from frameworks.history import Captures, PeriodHistory, period_history
from frameworks.operation import PeriodOperation, operation
from frameworks.results import OverallStatus
from tests.frameworks import period_store as month
from tests.frameworks.period_store import Month, at, day


def _history(engine: Engine, selection: Captures = Captures.ALL, *, memoise: bool = True) -> PeriodHistory:
    since, until = month.period()
    return period_history(
        EvidenceStore(engine),
        month.catalog(),
        since=since,
        until=until,
        selection=selection,
        freshness_hours=48,
        customer=customer_evidence(engine, as_of=until),
        findings_for=stored_findings(Settings()),
        usage_for=stored_service_usage,
        memoise=memoise,
    )


@pytest.fixture(scope="module")
def built(month_store: Month) -> Month:
    return month_store


@pytest.fixture(scope="module")
def period(built: Month) -> PeriodOperation:
    history = _history(built.engine)
    return operation(history, customer_evidence(built.engine, as_of=history.until))


def test_a_control_failing_on_days_3_to_21_shows_a_19_day_streak_and_its_remediation(
    period: PeriodOperation, built: Month
) -> None:
    e1 = period.control("E1")
    assert e1.captures == 30  # 29 nightly runs and the second run of day 25
    assert (e1.failed, e1.met) == (18, 12)  # day 17's run failed: 18 failing captures, not 19
    assert (e1.first_failure, e1.last_failure) == (at(3), at(21))
    assert e1.longest_failing_streak_days == 19  # the missed day 17 does not show the failure fixed
    [failure] = e1.failures
    assert (failure.first_run_id, failure.remediated_run_id) == (built.runs[(3, 2)].id, built.runs[(22, 2)].id)
    assert failure.time_to_remediation == timedelta(days=19)
    assert e1.cells[day(3).day - 1 : day(22).day - 1] == tuple(
        None if n == month.MISSED else OverallStatus.NOT_MET for n in range(3, 22)
    )


def test_a_missing_day_shows_as_uncovered(period: PeriodOperation, built: Month) -> None:
    assert period.days_without_capture == (day(month.MISSED),)
    assert period.history.unusable[0].id == built.failed_run.id  # why: its only run failed
    assert period.control("E1").uncovered_days == (day(month.MISSED),)
    assert period.control("E1").cells[month.MISSED - 1] is None
    assert period.control("I1").uncovered_days == ()  # AWS's part: a missed run leaves nothing uncovered


def test_an_exception_counts_only_while_it_was_in_force(period: PeriodOperation, built: Month) -> None:
    e2 = period.control("E2")
    excepted = [n for n in range(1, 31) if e2.cells[n - 1] is OverallStatus.EXCEPTED]
    assert excepted == list(month.EXCEPTED)
    assert e2.excepted == 6
    # days 3-4 and 11-21 fail; the exception accepted the failure, it did not remediate it
    assert [(f.first_failed_at, f.last_failed_at, f.streak_days) for f in e2.failures] == [
        (at(3), at(4), 2),
        (at(11), at(21), 11),
    ]
    assert [f.remediated_at for f in e2.failures] == [at(22), at(22)]
    assert e2.failures[0].time_to_remediation == timedelta(days=19)


def test_customer_evidence_covers_only_the_days_it_was_valid(period: PeriodOperation, built: Month) -> None:
    p1 = period.control("P1")
    outside = tuple(day(n) for n in range(1, 31) if n not in month.POLICY)
    assert p1.evidence_uncovered_days == outside
    assert p1.uncovered_days == outside  # a manual control: a missed run does not matter, the policy does
    assert [n for n in range(1, 31) if p1.cells[n - 1] is OverallStatus.MET] == list(month.POLICY)


def test_daily_takes_the_last_run_of_each_day(period: PeriodOperation, built: Month) -> None:
    every = period.history
    daily = _history(built.engine, Captures.DAILY)
    assert len(every.captures) == 30 and len(daily.captures) == 29
    on_25 = [capture.run_id for capture in daily.captures if capture.day == day(month.SECOND)]
    assert on_25 == [built.runs[(month.SECOND, 14)].id]
    history = daily.control_history("E1")
    assert [entry.run_id for entry in history] == [capture.run_id for capture in daily.captures]
    assert history[2].status is OverallStatus.NOT_MET and history[2].observed_at == at(3)


def test_unevaluated_runs_are_evaluated_and_grouping_gives_what_evaluating_each_capture_gives(
    period: PeriodOperation, built: Month
) -> None:
    store = EvidenceStore(built.engine)
    grouped = period.history
    assert built.unevaluated and all(finding_set(store, run_id) is not None for run_id in built.unevaluated)
    each = _history(built.engine, memoise=False)
    assert each.outcomes == grouped.outcomes
    assert each.evaluations == 30
    # encrypted or not, in or out of the exception's and the policy's validity: a handful of distinct inputs
    assert grouped.evaluations <= 8


def test_the_encoded_history_is_the_json_of_the_plain_one(period: PeriodOperation) -> None:
    """`status --from --to` writes each control's history pre-encoded: the same JSON as the plain dicts."""
    import json

    import orjson

    from frameworks.period_render import controls_to_dicts

    plain = controls_to_dicts(period)
    encoded = controls_to_dicts(period, encoded=True)
    assert list(encoded) == list(plain) and len(plain["E1"]["history"]) == 30
    assert orjson.dumps(encoded) == orjson.dumps(plain)
    assert json.loads(orjson.dumps(encoded["E1"]))["history"][2] == {
        "run_id": period.history.captures[2].run_id,
        "observed_at": "2026-04-03T02:00:00Z",
        "status": "not_met",
    }
    assert controls_to_dicts(period, ["P1"], encoded=True).keys() == {"P1"}
