"""Exceptions (risk acceptances) applied to findings: pure, and decided by the as-of time alone.

An exception applies to a control's findings while it is approved and unexpired at as_of
(`RiskException.active_at`), so one that expires makes the findings fail again from that moment, in any status
or packet evaluated after it, with no job to run. Scope:
- a check (control None): that check's failing findings (all resources, some resource ids, or one account) in
  every control and framework that uses the check;
- a check within a control: the same, for that control only;
- a control (check None): the failing findings of every check of that control, for that control only.
Only failing findings are ever excepted: never a pass, an error or a gap (`RiskException.matches`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from evidence.checks.types import Finding, FindingStatus
from evidence.customer.types import ControlRef, RiskException
from frameworks.results import ExceptedFinding


def active(exceptions: Iterable[RiskException], as_of: datetime) -> tuple[RiskException, ...]:
    return tuple(exception for exception in exceptions if exception.active_at(as_of))


def for_control(exceptions: Iterable[RiskException], ref: ControlRef) -> tuple[RiskException, ...]:
    """The exceptions that may bear on `ref`: unscoped check exceptions, and those naming this control."""
    return tuple(exception for exception in exceptions if exception.control is None or exception.control == ref)


def covers(exception: RiskException, finding: Finding, ref: ControlRef) -> bool:
    """Whether `exception` excepts `finding` as evidence for the control `ref`."""
    if exception.control is not None and exception.control != ref:
        return False
    if exception.check_id is None:  # control-scoped: every failing finding of the control's checks
        return exception.control is not None and finding.status is FindingStatus.FAIL
    return exception.matches(finding)


def describe(exception: RiskException) -> str:
    """The scope of an exception in a few words (for reasons and the expiring list)."""
    if exception.check_id is None:
        return f"control {exception.control}"
    parts = [exception.check_id]
    if exception.resource_ids:
        parts.append(f"resources {', '.join(exception.resource_ids)}")
    if exception.account_id:
        parts.append(f"account {exception.account_id}")
    if exception.control is not None:
        parts.append(f"in control {exception.control}")
    return " ".join(parts)


@dataclass(frozen=True, slots=True)
class Applied:
    """One check's findings for one control, split: the failing ones no exception covers, and the excepted."""

    failing: tuple[Finding, ...]
    excepted: tuple[ExceptedFinding, ...]

    @property
    def exception_ids(self) -> tuple[int, ...]:
        return tuple(sorted({e.exception_id for e in self.excepted}))


def apply(failing: Sequence[Finding], exceptions: Sequence[RiskException], ref: ControlRef) -> Applied:
    """Split `failing` by the active `exceptions` (the first that covers a finding, lowest id, is named)."""
    kept: list[Finding] = []
    excepted: list[ExceptedFinding] = []
    ordered = sorted(exceptions, key=lambda exception: exception.id)
    for finding in failing:
        match = next((exception for exception in ordered if covers(exception, finding, ref)), None)
        if match is None:
            kept.append(finding)
            continue
        until = f"{match.expires_at:%Y-%m-%d %H:%M} UTC"
        excepted.append(
            ExceptedFinding(
                finding=finding,
                exception_id=match.id,
                expires_at=match.expires_at,
                reason=f"{finding.reason}; excepted by exception {match.id} until {until}",
            )
        )
    return Applied(tuple(kept), tuple(excepted))
