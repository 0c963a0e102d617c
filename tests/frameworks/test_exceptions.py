"""Exceptions applied to findings: an approved, unexpired exception turns matching failing findings into
excepted (never a pass, an error or a gap), by scope (check, resources, account, control, check within a
control), and only as of the moments it is approved and unexpired."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from evidence.checks.types import FindingStatus
from evidence.customer.types import CustomerEvidence, RiskException
from frameworks.evaluate import evaluate_framework
from frameworks.results import AutomatedResult, ControlResult, FrameworkStatus, OverallStatus
from tests.frameworks.customer import REVIEWED_AT, item, risk_exception
from tests.frameworks.helpers import AS_OF, Gap, finding, mini_catalog, usage

S3 = "s3.default_encryption"
BAD = finding(S3, "fail", resource="legacy-exports")
GOOD = finding(S3, resource="phi-bucket")


def evaluate(
    findings: list[Any],
    *exceptions: RiskException,
    gaps: tuple[Gap, ...] = (),
    as_of: datetime = AS_OF,
    items: tuple[Any, ...] = (),
) -> FrameworkStatus:
    return evaluate_framework(
        mini_catalog(),
        findings=findings,
        gaps=gaps,
        usage=usage("s3"),
        runs=(),
        as_of=as_of,
        freshness_hours=24 * 30,
        customer=CustomerEvidence(items=items, exceptions=exceptions),
    )


def control(status: FrameworkStatus, control_id: str) -> ControlResult:
    return next(c for c in status.controls if c.control_id == control_id)


def test_an_approved_exception_turns_a_failing_finding_into_excepted() -> None:
    exception = risk_exception(4, check_id=S3, resource_ids=("legacy-exports",))
    a = control(evaluate([GOOD, BAD], exception), "A")
    assert (a.status, a.automated, a.exceptions) == (OverallStatus.EXCEPTED, AutomatedResult.EXCEPTED, (4,))
    assert (a.passed, a.failed, a.excepted) == (1, 0, 1)
    verdict = a.checks[0]
    assert verdict.failing == () and verdict.status is AutomatedResult.EXCEPTED
    (excepted,) = verdict.excepted
    # the finding keeps its evidence and what the check said; the reason names the exception
    assert excepted.finding.evidence == BAD.evidence and excepted.finding.status is FindingStatus.FAIL
    assert excepted.exception_id == 4 and "excepted by exception 4 until" in excepted.reason
    assert "exception(s) 4" in a.status_reason


def test_an_exception_for_other_resources_or_another_account_leaves_the_failure() -> None:
    others = risk_exception(1, check_id=S3, resource_ids=("another-bucket",))
    elsewhere = risk_exception(2, check_id=S3, account_id="222222222222")
    a = control(evaluate([BAD], others, elsewhere), "A")
    assert (a.status, a.exceptions, a.failed) == (OverallStatus.NOT_MET, (), 1)


def test_never_a_pass_an_error_or_a_gap() -> None:
    everything = risk_exception(1, check_id=S3)
    passing = control(evaluate([GOOD], everything), "A")
    assert (passing.status, passing.exceptions) == (OverallStatus.MET, ())  # a pass stays a pass, not excepted
    errored = control(evaluate([BAD, finding(S3, "error", resource="b9")], everything), "A")
    assert (errored.status, errored.automated) == (OverallStatus.INCOMPLETE, AutomatedResult.INCOMPLETE)
    assert errored.checks[0].errors == 1
    gapped = control(evaluate([BAD], everything, gaps=(Gap(service="s3"),)), "A")
    assert gapped.status is OverallStatus.INCOMPLETE and gapped.gaps


def test_an_exception_expired_before_as_of_leaves_the_control_failing() -> None:
    lapsed = risk_exception(1, check_id=S3, expires_at=AS_OF - timedelta(days=1))
    a = control(evaluate([BAD], lapsed), "A")
    assert (a.status, a.automated, a.exceptions) == (OverallStatus.NOT_MET, AutomatedResult.FAIL, ())


def test_expiry_is_decided_by_the_as_of_time_alone() -> None:
    exception = risk_exception(1, check_id=S3, expires_at=AS_OF + timedelta(days=1))
    assert control(evaluate([BAD], exception), "A").status is OverallStatus.EXCEPTED
    # the same stored exception, the same findings, evaluated two days later: failing again, no job involved
    later = control(evaluate([BAD], exception, as_of=AS_OF + timedelta(days=2)), "A")
    assert later.status is OverallStatus.NOT_MET
    # and before it was approved it excepted nothing
    before = control(evaluate([BAD], exception, as_of=REVIEWED_AT - timedelta(days=1)), "A")
    assert before.status is OverallStatus.NOT_MET


@pytest.mark.parametrize(
    "history",
    [
        (),  # requested only
        (("rejected", REVIEWED_AT),),
        (("approved", REVIEWED_AT), ("revoked", REVIEWED_AT + timedelta(days=1))),
    ],
    ids=["requested", "rejected", "revoked"],
)
def test_requested_rejected_and_revoked_exceptions_do_nothing(history: Any) -> None:
    a = control(evaluate([BAD], risk_exception(1, check_id=S3, history=history)), "A")
    assert (a.status, a.exceptions) == (OverallStatus.NOT_MET, ())


def test_a_control_scoped_exception_excepts_that_controls_failing_checks_only() -> None:
    root_fails = finding("iam.root_mfa_enabled", "fail", resource="root")
    rds_fails = finding("rds.storage_encrypted", "fail", resource="db-1")
    whole_control = risk_exception(2, control="mini:A")
    status = evaluate([BAD, rds_fails, root_fails], whole_control)
    a, p = control(status, "A"), control(status, "P")
    assert (a.status, a.exceptions, a.excepted) == (OverallStatus.EXCEPTED, (2,), 2)  # both of A's checks
    assert p.status is OverallStatus.NOT_MET  # P's check is not A's
    # the same control id in another framework's catalog is another control
    other = control(evaluate([BAD], risk_exception(3, control="hipaa:A")), "A")
    assert other.status is OverallStatus.NOT_MET


def test_a_check_within_a_control_is_excepted_for_that_control_only() -> None:
    root_fails = finding("iam.root_mfa_enabled", "fail", resource="root")
    within_a = risk_exception(5, check_id="iam.root_mfa_enabled", control="mini:A")
    within_p = risk_exception(6, check_id="iam.root_mfa_enabled", control="mini:P")
    assert control(evaluate([root_fails], within_a), "P").status is OverallStatus.NOT_MET
    p = control(evaluate([root_fails], within_p), "P")
    assert (p.automated, p.exceptions) == (AutomatedResult.EXCEPTED, (6,))


def test_a_partial_control_with_excepted_checks_still_needs_its_evidence() -> None:
    root_fails = finding("iam.root_mfa_enabled", "fail", resource="root")
    exception = risk_exception(1, check_id="iam.root_mfa_enabled")
    p = control(evaluate([root_fails], exception), "P")
    assert (p.status, p.automated) == (OverallStatus.EVIDENCE_NEEDED, AutomatedResult.EXCEPTED)
    p = control(evaluate([root_fails], exception, items=(item(1, "mini:P"),)), "P")
    assert p.status is OverallStatus.EXCEPTED


def test_one_unexcepted_failure_keeps_the_control_not_met_and_the_heading_counts_it() -> None:
    other = finding(S3, "fail", resource="scratch")
    exception = risk_exception(1, check_id=S3, resource_ids=("legacy-exports",))
    status = evaluate([BAD, other, finding("iam.root_mfa_enabled", resource="root")], exception)
    a, h = control(status, "A"), control(status, "H")
    assert (a.status, a.failed, a.excepted, a.exceptions) == (OverallStatus.NOT_MET, 1, 1, (1,))
    assert (h.status, h.failed, h.excepted) == (OverallStatus.NOT_MET, 1, 1)
    assert status.by_status["excepted"] == 0 and status.by_status["not_met"] == 1


# -- the scope rules one by one (frameworks.exceptions.covers and describe) ------------------------------------


def test_scope_rules_of_covers() -> None:
    from evidence.customer.types import ControlRef
    from frameworks.exceptions import covers

    a, b = ControlRef("mini", "A"), ControlRef("mini", "B")
    passing = finding(S3, resource="legacy-exports")
    by_control = risk_exception(1, control="mini:A")
    assert covers(by_control, BAD, a)
    assert not covers(by_control, BAD, b)  # another control's exception does not reach this one
    assert not covers(by_control, passing, a)  # a control-scoped exception never excepts a pass
    in_control = risk_exception(2, check_id=S3, control="mini:A")
    assert covers(in_control, BAD, a) and not covers(in_control, BAD, b)
    unscoped = risk_exception(3, check_id=S3)
    assert covers(unscoped, BAD, a) and covers(unscoped, BAD, b) and not covers(unscoped, passing, a)


def test_describe_names_every_part_of_the_scope() -> None:
    from frameworks.exceptions import describe

    assert describe(risk_exception(1, control="mini:A")) == "control mini:A"
    assert describe(risk_exception(2, check_id=S3)) == S3
    full = risk_exception(3, check_id=S3, resource_ids=("r1", "r2"), account_id="111111111111", control="mini:A")
    assert describe(full) == f"{S3} resources r1, r2 account 111111111111 in control mini:A"
