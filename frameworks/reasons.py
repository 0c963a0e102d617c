"""One-sentence explanations of a control's status, written for an auditor reading the packet."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from frameworks.results import CheckVerdict, ControlStatus


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
    status: ControlStatus,
    verdicts: Sequence[CheckVerdict],
    *,
    passed: int,
    failed: int,
    freshness_hours: int,
    no_run: bool,
) -> str:
    if status is ControlStatus.FAIL:
        failing = [f"{v.check_id} ({v.failed})" for v in verdicts if v.status is ControlStatus.FAIL]
        return f"{_plural(failed, 'resource')} failing: {', '.join(failing)}"
    if status is ControlStatus.PARTIAL_EVIDENCE:
        return evidence_problems(verdicts, freshness_hours, no_run=no_run)
    if status is ControlStatus.PASS:
        applied = [v.check_id for v in verdicts if v.status is ControlStatus.PASS]
        return f"{_plural(passed, 'resource')} pass {_plural(len(applied), 'check')} ({', '.join(applied)})"
    services = sorted({v.service_type for v in verdicts if v.service_type})
    return f"no resource in scope that the checks inspect ({', '.join(services) or 'none'})"


def partial_reason(checks_status: ControlStatus, checks_reason: str) -> str:
    """A partial control whose checks raise no problem still waits for the customer's attested evidence."""
    if checks_status is ControlStatus.PASS:
        return f"the automated part passes ({checks_reason}); the rest needs attested evidence (see guidance)"
    return f"the checks do not apply ({checks_reason}); the control needs attested evidence (see guidance)"


def heading_reason(statuses: Sequence[ControlStatus]) -> str:
    tally = Counter(statuses)
    listed = ", ".join(f"{count} {status.value}" for status, count in tally.most_common())
    return f"rolled up from {_plural(len(statuses), 'child control')}: {listed}"
