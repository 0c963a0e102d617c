"""Evaluating a run: every registered check over the run's stored evidence and gaps. Pure: no AWS calls, and
the same evidence, thresholds and time give the same findings."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from core.clock import utcnow
from core.errors import ConflictError
from evidence.checks.registry import RegisteredCheck, check_functions
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import Finding
from evidence.checks.verdicts import gap_error
from evidence.checks.view import GLOBAL, EvidenceView, run_accounts
from evidence.models import RunStatus
from evidence.store import EvidenceStore


def scope_errors(view: EvidenceView, entry: RegisteredCheck) -> list[Finding]:
    """Errors for the parts of the scope that could not be collected at all: an account that could not be
    entered (every check), a region that was refused or an account whose regions are unknown (regional checks)."""
    check_id = entry.meta.id
    errors = [
        gap_error(check_id, gap, resource_id=view.account_arn(gap.account_id), resource_type="account", region=GLOBAL)
        for gap in view.gaps("collection.account")
    ]
    if entry.regional:
        errors += [
            gap_error(check_id, gap, resource_id=f"{gap.account_id}/{gap.region}", resource_type="region")
            for gap in view.gaps("collection.region")
        ]
    return errors


def _unique(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per check and resource (the first one decided wins)."""
    seen: set[tuple[str, str, str, str]] = set()
    out = []
    for finding in findings:
        key = (finding.check_id, finding.account_id, finding.region, finding.resource_id)
        if key not in seen:
            seen.add(key)
            out.append(finding)
    return out


def evaluate_view(view: EvidenceView, *, thresholds: Thresholds, now: datetime) -> list[Finding]:
    findings: list[Finding] = []
    for entry in check_functions().values():
        findings += _unique([*entry.fn(view, thresholds, now), *scope_errors(view, entry)])
    return findings


def evaluate_run(
    store: EvidenceStore, run_id: int, *, thresholds: Thresholds | None = None, now: datetime | None = None
) -> list[Finding]:
    """Findings of every check for a sealed run.

    `now` is the moment ages are measured at (key age, unused credentials, runtime deprecation); by default
    the end of the run, so that re-evaluating old evidence judges it as it stood when it was collected.
    """
    run = store.get_run(run_id)
    if run.status == RunStatus.RUNNING.value:
        raise ConflictError(f"run {run_id} is still running; evaluate it once it is sealed")
    moment = now or run.finished_at or run.started_at or utcnow()
    kinds = {kind for entry in check_functions().values() for kind in entry.kinds}
    gaps = store.gaps(run_id)
    findings: list[Finding] = []
    # One account at a time: every check judges resources within an account, and memory stays bounded by
    # the largest account rather than the whole organisation.
    for account_id in run_accounts(store, run_id):
        view = EvidenceView.load(store, run_id, kinds, account_id=account_id, gaps=gaps)
        findings += evaluate_view(view, thresholds=thresholds or Thresholds(), now=moment)
    return findings
