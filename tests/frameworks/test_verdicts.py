"""One check's verdict and the resource counts, rule by rule: what tips a resource or a check from pass to
partial evidence. test_evaluate.py covers the same rules through whole controls."""

from __future__ import annotations

from datetime import timedelta

import pytest

from evidence.checks.types import CheckMeta, Finding, Remediation, Severity
from frameworks.results import AutomatedResult
from frameworks.schema import CheckRef
from frameworks.verdicts import Evidence, check_verdict, resource_counts
from tests.frameworks.helpers import AS_OF, Gap, finding, usage

STALE_BEFORE = AS_OF - timedelta(hours=48)
S3 = CheckMeta(
    id="s3.default_encryption",
    title="S3 buckets encrypt by default",
    severity=Severity.HIGH,
    domain="encryption",
    service="s3",
    service_type="s3",
    description="d",
    remediation=Remediation(console="c", cli="c"),
)
ROOT_MFA = CheckMeta(
    id="iam.root_mfa_enabled",
    title="Root has MFA",
    severity=Severity.CRITICAL,
    domain="iam",
    service="iam",
    service_type=None,  # account-wide
    description="d",
    remediation=Remediation(console="c", cli="c"),
)


def verdict(
    meta: CheckMeta, findings: list[Finding], *, gaps: tuple[Gap, ...] = (), services: tuple[str, ...] = ("s3",)
):  # type: ignore[no-untyped-def]
    evidence = Evidence.build(findings, gaps, usage(*services), STALE_BEFORE)
    return check_verdict(CheckRef(id=meta.id, relevance="r"), meta, evidence)


# -- resource_counts -------------------------------------------------------------------------------------------


def test_a_resource_with_a_pass_and_an_error_is_not_counted_as_passing() -> None:
    """Half-read evidence is not a pass: the error may hide the failure (issue 21, survivor 8)."""
    findings = [finding(S3.id, resource="b1"), finding("s3.bucket_versioning", "error", resource="b1")]
    assert resource_counts(findings) == (0, 0, 0)  # (passing, failing, excepted)


def test_a_resource_with_a_pass_and_a_fail_counts_as_failing_only() -> None:
    findings = [finding(S3.id, resource="b1"), finding("s3.bucket_versioning", "fail", resource="b1")]
    assert resource_counts(findings) == (0, 1, 0)


def test_resources_are_counted_once_and_told_apart_by_account_and_region() -> None:
    findings = [
        finding(S3.id, resource="b1"),
        finding("s3.bucket_versioning", resource="b1"),  # same resource, second check
        finding(S3.id, resource="b1", region="eu-west-1"),
        finding(S3.id, resource="b1", account="222222222222"),
        finding(S3.id, "fail", resource="b2"),
        finding(S3.id, "not_applicable", resource="b3"),
    ]
    assert resource_counts(findings) == (3, 1, 0)


# -- check_verdict ---------------------------------------------------------------------------------------------


def test_counts_per_status_and_the_failing_findings() -> None:
    findings = [
        finding(S3.id, resource="b1"),
        finding(S3.id, "fail", resource="b2"),
        finding(S3.id, "fail", resource="b3"),
        finding(S3.id, "error", resource="b4"),
        finding(S3.id, "not_applicable", resource="b5"),
        finding("s3.bucket_versioning", "fail", resource="b6"),  # another check's finding
    ]
    result = verdict(S3, findings)
    assert result.status is AutomatedResult.FAIL
    assert (result.passed, result.failed, result.errors, result.not_applicable, result.stale) == (1, 2, 1, 1, 0)
    assert [f.resource_id for f in result.failing] == ["b2", "b3"]
    assert [f.resource_id for f in result.errored] == ["b4"]


def test_an_error_finding_is_missing_evidence_not_also_stale() -> None:
    result = verdict(S3, [finding(S3.id, resource="b1"), finding(S3.id, "error", resource="b2")])
    assert result.status is AutomatedResult.INCOMPLETE
    assert (result.errors, result.stale) == (1, 0)


def test_a_not_applicable_finding_without_an_observation_time_is_not_stale() -> None:
    result = verdict(S3, [finding(S3.id, "not_applicable", observed_at=None)])
    assert (result.status, result.stale) == (AutomatedResult.NOT_APPLICABLE, 0)


def test_a_passing_finding_without_an_observation_time_is_stale() -> None:
    result = verdict(S3, [finding(S3.id, observed_at=None)])
    assert (result.status, result.stale) == (AutomatedResult.INCOMPLETE, 1)


@pytest.mark.parametrize(
    ("age", "status", "stale"),
    [
        (timedelta(hours=48), AutomatedResult.PASS, 0),  # observed exactly at the limit: still fresh
        (timedelta(hours=48, seconds=1), AutomatedResult.INCOMPLETE, 1),
    ],
)
def test_staleness_starts_after_the_freshness_window(age: timedelta, status: AutomatedResult, stale: int) -> None:
    result = verdict(S3, [finding(S3.id, observed_at=AS_OF - age)])
    assert (result.status, result.stale) == (status, stale)


def test_no_findings_where_the_service_is_in_use_is_missing_evidence() -> None:
    result = verdict(S3, [])
    assert result.missing and result.status is AutomatedResult.INCOMPLETE


def test_no_findings_and_the_service_not_in_use_is_not_applicable() -> None:
    result = verdict(S3, [], services=("rds",))
    assert not result.missing and result.status is AutomatedResult.NOT_APPLICABLE


def test_an_account_wide_check_without_findings_is_missing_evidence_whatever_is_in_use() -> None:
    result = verdict(ROOT_MFA, [], services=())
    assert result.missing and result.status is AutomatedResult.INCOMPLETE


def test_unknown_usage_never_makes_a_check_not_applicable() -> None:
    evidence = Evidence.build([], [], None, STALE_BEFORE)
    result = check_verdict(CheckRef(id=S3.id, relevance="r"), S3, evidence)
    assert result.missing and result.status is AutomatedResult.INCOMPLETE


@pytest.mark.parametrize(
    ("gap", "bears"),
    [
        (Gap(service="s3"), True),  # the service the check reads
        (Gap(service="sts", operation="AssumeRole"), True),  # a whole account could not be read
        (Gap(service="organizations", operation="ListAccounts"), True),
        (Gap(service="rds", operation="DescribeDBInstances"), False),
    ],
)
def test_which_gaps_stop_a_pass(gap: Gap, bears: bool) -> None:
    result = verdict(S3, [finding(S3.id)], gaps=(gap,))
    assert result.status is (AutomatedResult.INCOMPLETE if bears else AutomatedResult.PASS)
    assert [g.service for g in result.gaps] == ([gap.service] if bears else [])
    if bears:
        assert (result.gaps[0].operation, result.gaps[0].error_code) == (gap.operation, gap.error_code)


def test_a_gap_of_an_evidence_kind_bears_only_on_the_checks_that_read_it() -> None:
    """A failed GetEnabledStandards leaves the standards check incomplete, not whether Security Hub is on."""
    from evidence.checks.registry import check_metadata
    from frameworks.verdicts import gap_bears_on, gap_ref

    metadata = check_metadata()
    standards = gap_ref(
        Gap(service="securityhub", operation="GetEnabledStandards", kind="securityhub.enabled_standards")
    )
    assert gap_bears_on(standards, metadata["securityhub.standards_enabled"])
    assert not gap_bears_on(standards, metadata["securityhub.enabled"])
    # A gap of no kind a check reads (a collector that broke) still bears on every check of its service.
    broken = gap_ref(Gap(service="securityhub", operation="DescribeHub", kind="collector.securityhub"))
    assert gap_bears_on(broken, metadata["securityhub.enabled"])
    # A whole account that could not be entered bears on everything.
    entered = gap_ref(Gap(service="sts", operation="AssumeRole", kind="collection.account"))
    assert gap_bears_on(entered, metadata["s3.default_encryption"])
