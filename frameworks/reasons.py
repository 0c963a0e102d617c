"""One-sentence explanations of a control's status (both axes), written for an auditor reading the packet."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from evidence.customer.types import CustomerItem
from frameworks.overall import SupportingItems
from frameworks.results import AutomatedResult, Automation, CheckVerdict, OverallStatus


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def evidence_problems(verdicts: Sequence[CheckVerdict], freshness_hours: int, *, no_run: bool) -> str:
    if no_run:
        return "no complete or partial evidence run at or before the as-of time, so nothing was evaluated"
    parts: list[str] = []
    for verdict in verdicts:
        problems = []
        if verdict.errors:
            problems.append(f"{_plural(verdict.errors, 'error')} (evidence unreadable)")
        if verdict.gaps:
            codes = ", ".join(sorted({gap.error_code for gap in verdict.gaps}))
            problems.append(f"{_plural(len(verdict.gaps), 'gap')} in collection ({codes})")
        if verdict.stale:
            problems.append(f"{_plural(verdict.stale, 'stale finding')} (older than {freshness_hours} h)")
        if verdict.missing:
            what = f"{verdict.service_type} is in use" if verdict.service_type else "the check applies to every account"
            problems.append(f"no findings although {what}")
        if problems:
            parts.append(f"{verdict.check_id}: {', '.join(problems)}")
    return "evidence incomplete, so it cannot pass: " + "; ".join(parts)


def check_reason(
    automated: AutomatedResult,
    verdicts: Sequence[CheckVerdict],
    *,
    passed: int,
    failed: int,
    freshness_hours: int,
    no_run: bool,
) -> str:
    """Why the checks say what they say (the automated axis)."""
    if automated is AutomatedResult.FAIL:
        failing = [f"{v.check_id} ({v.failed})" for v in verdicts if v.status is AutomatedResult.FAIL]
        return f"{_plural(failed, 'resource')} failing: {', '.join(failing)}"
    if automated is AutomatedResult.INCOMPLETE:
        return evidence_problems(verdicts, freshness_hours, no_run=no_run)
    if automated is AutomatedResult.EXCEPTED:
        ids = sorted({e.exception_id for v in verdicts for e in v.excepted})
        count = sum(len(v.excepted) for v in verdicts)
        listed = ", ".join(str(i) for i in ids)
        return f"every failure is excepted: {_plural(count, 'failing finding')} covered by exception(s) {listed}"
    if automated is AutomatedResult.PASS:
        applied = [v.check_id for v in verdicts if v.status is AutomatedResult.PASS]
        return f"{_plural(passed, 'resource')} pass {_plural(len(applied), 'check')} ({', '.join(applied)})"
    services = sorted({v.service_type for v in verdicts if v.service_type})
    return f"no resource in scope that the checks inspect ({', '.join(services) or 'none'})"


def _ids(items: Sequence[CustomerItem]) -> str:
    return ", ".join(str(item.id) for item in items)


def evidence_reason(supporting: SupportingItems, wanted: str | None) -> str:
    """Why the customer evidence is in its state, and what to supply when it is not approved."""
    if supporting.approved:
        return f"approved evidence: item(s) {_ids(supporting.approved)}"
    parts = []
    if supporting.submitted:
        parts.append(f"item(s) {_ids(supporting.submitted)} await review")
    if supporting.expired:
        lapsed = ", ".join(f"{item.id} on {item.valid_until:%Y-%m-%d}" for item in supporting.expired)
        parts.append(f"item(s) expired: {lapsed}")
    if not parts:
        parts.append("no approved evidence item supports it")
    return "; ".join(parts) + (f"; expected: {wanted}" if wanted else "")


def overall_reason(
    status: OverallStatus,
    automation: Automation,
    checks_reason: str | None,
    supporting: SupportingItems,
    wanted: str | None,
    alternative: CustomerItem | None,
) -> str:
    """One sentence for the overall status: the checks' part and the evidence part, as far as they matter."""
    if alternative is not None:
        automated = f"; the checks: {checks_reason}" if checks_reason else ""
        return f"met by an attested alternative measure (addressable specification, item {alternative.id}){automated}"
    if automation is Automation.MANUAL:
        return evidence_reason(supporting, wanted)
    if automation is Automation.AUTOMATED or status in (OverallStatus.NOT_MET, OverallStatus.INCOMPLETE):
        return checks_reason or ""
    if status is OverallStatus.EVIDENCE_NEEDED:
        return f"the automated part holds ({checks_reason}); {evidence_reason(supporting, wanted)}"
    return f"{checks_reason}; {evidence_reason(supporting, wanted)}"


def heading_reason(statuses: Sequence[OverallStatus]) -> str:
    tally = Counter(statuses)
    listed = ", ".join(f"{count} {status.value}" for status, count in tally.most_common())
    return f"rolled up from {_plural(len(statuses), 'child control')}: {listed}"


def customer_statement(statement: str | None, supporting: SupportingItems) -> str:
    """The tail of an inherited control's reason: its optional customer statement and the items attesting it."""
    if not supporting.any():
        return f"; the customer may attest: {statement}" if statement else ""
    return f"; customer statement: {evidence_reason(supporting, None)}"
