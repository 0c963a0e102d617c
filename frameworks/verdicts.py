"""What one check's findings say about a control: counts, staleness, gaps, missing evidence and a verdict.

Rules (documented in docs/frameworks.md); failing findings an active exception covers are set apart first
(`frameworks.exceptions`):
- a failing finding no exception covers makes the verdict `fail`;
- otherwise any error finding, any run gap in the service the check reads, any stale finding (observed before
  as_of minus the freshness window) or no finding at all where the check applies makes it `incomplete`:
  a check never passes on missing evidence, and an exception never hides a gap;
- otherwise an excepted finding makes it `excepted`;
- otherwise at least one passing finding makes it `pass`;
- otherwise (only not-applicable findings, or no findings and no resource of its service type in use) it is
  `not_applicable`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Protocol

from evidence.checks.registry import check_functions
from evidence.checks.types import CheckMeta, Finding, FindingStatus, ServiceUsage
from evidence.customer.types import ControlRef, RiskException
from frameworks import exceptions as excepting
from frameworks.results import AutomatedResult, CheckVerdict, GapRef
from frameworks.schema import CheckRef

# A gap in one of these services means a whole account (or the organisation) could not be read: it bears on
# every check, not only on checks of that service.
ACCOUNT_ACCESS_SERVICES = frozenset({"sts", "organizations"})


class GapLike(Protocol):
    """What evaluation needs of a stored gap (`evidence.models.Gap` has these attributes)."""

    @property
    def account_id(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def service(self) -> str: ...
    @property
    def operation(self) -> str: ...
    @property
    def error_code(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def kind(self) -> str | None: ...
    @property
    def resource_id(self) -> str | None: ...


def gap_ref(gap: GapLike) -> GapRef:
    return GapRef(
        account_id=gap.account_id,
        region=gap.region,
        service=gap.service,
        operation=gap.operation,
        error_code=gap.error_code,
        message=gap.message,
        kind=gap.kind,
        resource_id=gap.resource_id,
    )


@cache
def _kinds_read() -> dict[str, frozenset[str]]:
    """The evidence kinds each check reads, by check id."""
    return {check_id: entry.kinds for check_id, entry in check_functions().items()}


@cache
def _any_check_reads() -> frozenset[str]:
    return frozenset().union(*_kinds_read().values())


def gap_bears_on(gap: GapRef, meta: CheckMeta) -> bool:
    """A gap bears on a check when a whole account could not be reached; when the gap is of an evidence kind that
    checks read, only on the checks that read that kind (a failed GetEnabledStandards says nothing about whether
    Security Hub is on); otherwise (collector-level or inventory gaps) when it is in the AWS service the check
    reads or the service type whose resources it inspects."""
    if gap.service in ACCOUNT_ACCESS_SERVICES:
        return True
    reads = _kinds_read().get(meta.id)
    if gap.kind is not None and reads is not None and gap.kind in _any_check_reads():
        return gap.kind in reads
    return gap.service in {meta.service, meta.service_type}


def is_stale(finding: Finding, stale_before: datetime) -> bool:
    """Whether a finding rests on evidence observed before `stale_before` (as_of minus the freshness window)."""
    if finding.status is FindingStatus.ERROR:
        return False  # already counted as missing evidence
    if finding.observed_at is None:
        # A verdict on a resource must say when the resource was seen; without that we cannot call it fresh.
        return finding.status is not FindingStatus.NOT_APPLICABLE
    return finding.observed_at < stale_before


@dataclass(frozen=True, slots=True)
class Evidence:
    """The inputs of one evaluation, indexed once."""

    findings: Mapping[str, tuple[Finding, ...]]  # by check id
    gaps: tuple[GapRef, ...]
    usage: ServiceUsage | None  # None: unknown (no usable run), so absence of findings proves nothing
    stale_before: datetime

    @classmethod
    def build(
        cls, findings: Iterable[Finding], gaps: Iterable[GapLike], usage: ServiceUsage | None, stale_before: datetime
    ) -> Evidence:
        by_check: dict[str, list[Finding]] = {}
        for finding in findings:
            by_check.setdefault(finding.check_id, []).append(finding)
        return cls(
            findings={key: tuple(value) for key, value in by_check.items()},
            gaps=tuple(gap_ref(gap) for gap in gaps),
            usage=usage,
            stale_before=stale_before,
        )

    def is_stale(self, finding: Finding) -> bool:
        return is_stale(finding, self.stale_before)

    def applies(self, meta: CheckMeta) -> bool:
        """Whether the check should have produced findings: account-wide checks always do; a check of a
        service type does when that type is in use or usage is unknown."""
        if meta.service_type is None or self.usage is None:
            return True
        return meta.service_type in self.usage.in_use()


def check_verdict(
    ref: CheckRef,
    meta: CheckMeta,
    evidence: Evidence,
    *,
    control: ControlRef | None = None,
    exceptions: Sequence[RiskException] = (),
) -> CheckVerdict:
    """The check's verdict as evidence for `control`; `exceptions`: the ones active at as_of."""
    findings = evidence.findings.get(ref.id, ())
    by_status: dict[FindingStatus, list[Finding]] = {status: [] for status in FindingStatus}
    for finding in findings:  # one pass (a year of period history evaluates this for millions of findings)
        if finding.status.__class__ is FindingStatus:  # a stored text that is no known verdict counts nowhere
            by_status[finding.status].append(finding)
    errored = by_status[FindingStatus.ERROR]
    applied = (
        excepting.apply(by_status[FindingStatus.FAIL], exceptions, control)
        if control is not None and exceptions
        else excepting.Applied(tuple(by_status[FindingStatus.FAIL]), ())
    )
    failing = applied.failing
    stale_before = evidence.stale_before
    stale = sum(1 for finding in findings if is_stale(finding, stale_before))
    gaps = tuple(gap for gap in evidence.gaps if gap_bears_on(gap, meta))
    missing = not findings and evidence.applies(meta)
    if failing:
        status = AutomatedResult.FAIL
    elif errored or gaps or stale or missing:
        status = AutomatedResult.INCOMPLETE
    elif applied.excepted:
        status = AutomatedResult.EXCEPTED
    elif by_status[FindingStatus.PASS]:
        status = AutomatedResult.PASS
    else:
        status = AutomatedResult.NOT_APPLICABLE
    return CheckVerdict(
        check_id=ref.id,
        title=meta.title,
        severity=meta.severity,
        relevance=ref.relevance,
        passed=len(by_status[FindingStatus.PASS]),
        failed=len(failing),
        errors=len(errored),
        not_applicable=len(by_status[FindingStatus.NOT_APPLICABLE]),
        stale=stale,
        failing=failing,
        errored=tuple(errored),
        remediation=meta.remediation,
        status=status,
        service_type=meta.service_type,
        missing=missing,
        gaps=gaps,
        excepted=applied.excepted,
    )


def resource_counts(findings: Iterable[Finding], excepted: Iterable[Finding] = ()) -> tuple[int, int, int]:
    """(passing, failing, excepted) distinct resources: failing if any finding on it fails unexcepted; excepted
    if every failure on it is excepted; passing if at least one finding passes and none fails or errs."""
    states: dict[tuple[str, str, str], set[str]] = {}
    for finding in findings:
        states.setdefault((finding.account_id, finding.region, finding.resource_id), set()).add(finding.status)
    for finding in excepted:
        states.setdefault((finding.account_id, finding.region, finding.resource_id), set()).add("excepted")
    failing = sum(1 for seen in states.values() if FindingStatus.FAIL in seen)
    waived = sum(1 for seen in states.values() if "excepted" in seen and FindingStatus.FAIL not in seen)
    passing = sum(
        1
        for seen in states.values()
        if FindingStatus.PASS in seen and not seen & {FindingStatus.FAIL, FindingStatus.ERROR, "excepted"}
    )
    return passing, failing, waived
