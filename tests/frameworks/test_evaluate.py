"""Control statuses from findings (without customer evidence): each automated result and the overall status it
gives, never met on a gap or on stale or missing evidence, partial and manual controls waiting for evidence,
heading roll-up, scope selection and the summary counts by overall status. With customer evidence and
exceptions: test_two_axes.py and test_exceptions.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from frameworks.errors import UnknownScopeError
from frameworks.evaluate import evaluate_framework
from frameworks.results import AutomatedResult, ControlResult, EvidenceState, FrameworkStatus, OverallStatus, RunRef
from tests.frameworks.helpers import AS_OF, Gap, finding, mini_catalog, usage

RUN = RunRef(
    id=7,
    status="complete",
    started_at=AS_OF - timedelta(hours=3),
    finished_at=AS_OF - timedelta(hours=2),
    digest="d" * 64,
)
ROOT_OK = finding("iam.root_mfa_enabled", resource="arn:aws:iam::111111111111:root")


def evaluate(findings=(), gaps=(), services=("s3",), scopes=None, runs=(RUN,), known_usage=True) -> FrameworkStatus:  # type: ignore[no-untyped-def]
    return evaluate_framework(
        mini_catalog(),
        findings=findings,
        gaps=gaps,
        usage=usage(*services) if known_usage else None,
        runs=runs,
        as_of=AS_OF,
        freshness_hours=48,
        scopes=scopes,
    )


def control(status: FrameworkStatus, control_id: str) -> ControlResult:
    return next(c for c in status.controls if c.control_id == control_id)


def test_all_findings_passing_is_pass_with_resource_counts() -> None:
    result = evaluate(
        [finding("s3.default_encryption", resource="b1"), finding("s3.default_encryption", resource="b2")]
    )
    a = control(result, "A")
    assert (a.status, a.automated, a.evidence) == (OverallStatus.MET, AutomatedResult.PASS, EvidenceState.NOT_NEEDED)
    assert (a.passed, a.failed) == (2, 0)
    s3, rds = a.checks
    assert (s3.status, s3.passed) == (AutomatedResult.PASS, 2)
    assert rds.status is AutomatedResult.NOT_APPLICABLE and not rds.missing  # no RDS in use


def test_any_failing_finding_fails_the_control_even_beside_a_gap() -> None:
    result = evaluate(
        [finding("s3.default_encryption", resource="b1"), finding("s3.default_encryption", "fail", resource="b2")],
        gaps=[Gap(service="s3")],
    )
    a = control(result, "A")
    assert (a.status, a.automated) == (OverallStatus.NOT_MET, AutomatedResult.FAIL)
    assert (a.passed, a.failed) == (1, 1)
    assert [f.resource_id for f in a.checks[0].failing] == ["b2"]
    assert "1 resource failing: s3.default_encryption (1)" in a.status_reason


@pytest.mark.parametrize(
    ("gap", "why"),
    [
        (Gap(service="s3"), "gap in the service the check reads"),
        (Gap(service="sts", operation="AssumeRole"), "a whole account could not be read"),
    ],
)
def test_never_pass_on_a_gap(gap: Gap, why: str) -> None:
    result = evaluate([finding("s3.default_encryption")], gaps=[gap])
    a = control(result, "A")
    assert (a.status, a.automated) == (OverallStatus.INCOMPLETE, AutomatedResult.INCOMPLETE), why
    assert a.checks[0].gaps and a.gaps
    assert "cannot pass" in a.status_reason and "AccessDenied" in a.status_reason
    assert result.gap_count == 1


def test_a_gap_in_an_unrelated_service_does_not_block_a_pass() -> None:
    result = evaluate([finding("s3.default_encryption")], gaps=[Gap(service="eks", operation="ListClusters")])
    assert control(result, "A").status is OverallStatus.MET


def test_an_error_finding_is_partial_evidence() -> None:
    result = evaluate([finding("s3.default_encryption"), finding("s3.default_encryption", "error", resource="b9")])
    a = control(result, "A")
    assert a.status is OverallStatus.INCOMPLETE
    assert a.checks[0].errors == 1 and (a.passed, a.failed) == (1, 0)


def test_stale_evidence_is_partial_evidence_not_pass() -> None:
    old = AS_OF - timedelta(hours=49)
    result = evaluate([finding("s3.default_encryption", observed_at=old)])
    a = control(result, "A")
    assert a.status is OverallStatus.INCOMPLETE
    assert a.stale == 1 and result.stale_count == 1
    assert "stale finding (older than 48 h)" in a.status_reason
    fresh_enough = evaluate([finding("s3.default_encryption", observed_at=AS_OF - timedelta(hours=47))])
    assert control(fresh_enough, "A").status is OverallStatus.MET


def test_a_passing_finding_without_an_observation_time_is_not_taken_as_fresh() -> None:
    result = evaluate([finding("s3.default_encryption", observed_at=None)])
    assert control(result, "A").status is OverallStatus.INCOMPLETE


def test_missing_findings_for_a_service_in_use_are_partial_evidence() -> None:
    result = evaluate([finding("s3.default_encryption")], services=("s3", "rds"))
    a = control(result, "A")
    assert a.status is OverallStatus.INCOMPLETE
    assert a.checks[1].missing and "no findings although rds is in use" in a.status_reason


def test_account_wide_checks_always_need_findings() -> None:
    result = evaluate([], services=())
    p = control(result, "P")
    assert p.status is OverallStatus.INCOMPLETE and p.checks[0].missing


def test_not_applicable_when_no_resource_of_the_checked_services_is_in_use() -> None:
    result = evaluate([], services=("lambda",))
    a = control(result, "A")
    assert (a.status, a.automated) == (OverallStatus.NOT_APPLICABLE, AutomatedResult.NOT_APPLICABLE)
    assert "s3" in a.status_reason and "rds" in a.status_reason
    only_na = evaluate([finding("s3.default_encryption", "not_applicable")])
    assert control(only_na, "A").status is OverallStatus.NOT_APPLICABLE


def test_unknown_usage_never_excuses_missing_findings() -> None:
    result = evaluate([], known_usage=False, services=())
    assert control(result, "A").status is OverallStatus.INCOMPLETE
    assert "service usage is unknown" in " ".join(result.warnings)


def test_no_usable_run_leaves_every_automated_check_without_evidence() -> None:
    result = evaluate([], runs=(), known_usage=False)
    a = control(result, "A")
    assert a.status is OverallStatus.INCOMPLETE and "no complete or partial evidence run" in a.status_reason
    assert result.warnings and "no complete or partial evidence run" in result.warnings[0]


def test_manual_and_inherited_controls() -> None:
    result = evaluate([ROOT_OK])
    m, i = control(result, "M"), control(result, "I")
    assert (m.status, m.automated, m.evidence) == (
        OverallStatus.EVIDENCE_NEEDED,
        AutomatedResult.NONE,
        EvidenceState.NEEDED,
    )
    assert m.attestation_required and m.guidance == "upload the policy"
    assert "no approved evidence item supports it; expected: upload the policy" in m.status_reason
    assert (i.status, i.automated, i.evidence) == (
        OverallStatus.INHERITED,
        AutomatedResult.NONE,
        EvidenceState.NOT_NEEDED,
    )
    assert not i.attestation_required
    assert [a.name for a in i.aws_evidence] == ["AWS SOC 2 Type II report"]
    assert i.aws_evidence[0].source == "AWS Artifact"


def test_partial_control_whose_checks_pass_still_needs_customer_evidence() -> None:
    p = control(evaluate([ROOT_OK]), "P")
    assert p.status is OverallStatus.EVIDENCE_NEEDED
    assert (p.automated, p.evidence) == (AutomatedResult.PASS, EvidenceState.NEEDED) and p.attestation_required
    assert "the automated part holds" in p.status_reason and "no approved evidence item" in p.status_reason


def test_partial_control_fails_or_lacks_evidence_like_an_automated_one() -> None:
    failing = control(evaluate([finding("iam.root_mfa_enabled", "fail")]), "P")
    assert failing.status is OverallStatus.NOT_MET and failing.automated is AutomatedResult.FAIL
    gapped = control(evaluate([ROOT_OK], gaps=[Gap(service="iam", operation="GetAccountSummary")]), "P")
    assert gapped.status is OverallStatus.INCOMPLETE


@pytest.mark.parametrize(
    ("findings", "services", "expected"),
    [
        ([finding("s3.default_encryption", "fail"), ROOT_OK], ("s3",), OverallStatus.NOT_MET),
        (
            [finding("s3.default_encryption"), finding("iam.root_mfa_enabled", "error")],
            ("s3",),
            OverallStatus.INCOMPLETE,
        ),
        ([finding("s3.default_encryption"), ROOT_OK], ("s3",), OverallStatus.EVIDENCE_NEEDED),  # M and P need it
    ],
)
def test_heading_rolls_up_the_most_severe_child(findings, services, expected) -> None:  # type: ignore[no-untyped-def]
    h = control(evaluate(findings, services=services), "H")
    assert h.heading and h.status is expected
    assert h.children == ("A", "P", "M")
    assert h.checks == () and "rolled up from 3 child controls" in h.status_reason
    assert h.automation.value == "partial"  # checks cover A and part of P; M and P need attestation


def test_heading_counts_distinct_resources_across_children() -> None:
    findings = [
        finding("s3.default_encryption", resource="b1"),
        ROOT_OK,
        finding("s3.default_encryption", "fail", resource="b2"),
    ]
    h = control(evaluate(findings), "H")
    assert (h.passed, h.failed) == (2, 1)


def test_out_of_scope_controls_are_not_applicable_until_selected() -> None:
    default = evaluate([finding("guardduty.enabled", "fail")])
    x = control(default, "X")
    assert x.status is OverallStatus.NOT_APPLICABLE and not x.in_scope and "'extra' is not selected" in x.status_reason
    assert default.scopes == frozenset({"base"})
    selected = evaluate([finding("guardduty.enabled", "fail")], scopes=["extra"])
    assert control(selected, "X").status is OverallStatus.NOT_MET
    assert selected.scopes == frozenset({"base", "extra"})  # 'base' is always in


def test_unknown_scope_is_an_input_error_listing_the_known_ones() -> None:
    with pytest.raises(UnknownScopeError) as info:
        evaluate([], scopes=["A9"])
    assert info.value.exit_code == 2 and "A9" in info.value.message and "base, extra" in info.value.message


def test_summary_counts_requirements_not_headings() -> None:
    result = evaluate([finding("s3.default_encryption", "fail"), ROOT_OK])
    assert result.by_status == {
        "met": 0,
        "not_met": 1,  # A
        "excepted": 0,
        "evidence_needed": 2,  # P (its check passes) and M
        "incomplete": 0,
        "inherited": 1,
        "not_applicable": 1,  # X, out of scope
    }
    assert sum(result.by_status.values()) == 5  # A, P, M, I, X; the heading H is not counted
    # responsibility counts the requirements in scope (X is out of scope) by overall responsibility
    assert result.by_responsibility == {"aws": 1, "shared": 1, "customer": 2}


def test_as_of_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate_framework(
            mini_catalog(),
            findings=(),
            gaps=(),
            usage=None,
            runs=(),
            as_of=AS_OF.replace(tzinfo=None),
            freshness_hours=48,
        )


def test_heading_precedence_and_automation_roll_up() -> None:
    from frameworks.evaluate import _rollup_automation
    from frameworks.overall import worst_overall
    from frameworks.results import Automation

    order = [
        OverallStatus.NOT_MET,
        OverallStatus.INCOMPLETE,
        OverallStatus.EVIDENCE_NEEDED,
        OverallStatus.EXCEPTED,
        OverallStatus.MET,
        OverallStatus.INHERITED,
        OverallStatus.NOT_APPLICABLE,
    ]
    for index, status in enumerate(order):
        assert worst_overall(order[index:]) is status
    assert (
        worst_overall([OverallStatus.MET, OverallStatus.INHERITED, OverallStatus.NOT_APPLICABLE]) is OverallStatus.MET
    )
    assert worst_overall([]) is OverallStatus.NOT_APPLICABLE
    assert _rollup_automation([Automation.AUTOMATED, Automation.INHERITED]) is Automation.AUTOMATED
    assert _rollup_automation([Automation.AUTOMATED, Automation.MANUAL]) is Automation.PARTIAL
    assert _rollup_automation([Automation.MANUAL, Automation.INHERITED]) is Automation.MANUAL
    assert _rollup_automation([Automation.INHERITED]) is Automation.INHERITED
