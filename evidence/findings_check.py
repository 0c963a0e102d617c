"""Findings that can be trusted: evaluated on demand, and checked against the evidence that produces them.

ensure_findings     a sealed run read before its evaluation was stored (the process stopped between sealing
                    and saving) is evaluated now, wherever its findings are read
check_findings      stored rows vs their finding set's digest, and vs a re-derivation from the evidence with
                    the recorded thresholds (when the check code is the one that produced them)
verified_findings   what a packet uses: verdicts derived from the evidence now; stored findings that differ
                    from them under the same parameters mean the store was altered, and the packet is refused
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from core.canonical import CanonicalVersionError, check_version
from core.errors import VerificationError
from evidence.checks.evaluate import evaluate_run
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import Finding
from evidence.findings import finding_set, iter_stored_findings, save_findings
from evidence.findings_digest import (
    checks_version,
    finding_key,
    finding_record_hash,
    findings_digest,
    oldest_observed,
    set_header,
    thresholds_from_record,
    thresholds_record,
    verdict_line,
    verdicts_fingerprint,
)
from evidence.findings_model import FindingSet
from evidence.models import RunStatus
from evidence.store import EvidenceStore

_SHOWN = 5  # differences named in a message; the count says how many there are


class FindingsIntegrityError(VerificationError):
    """Stored findings do not match their digest, or the verdicts the evidence produces."""


@dataclass(frozen=True, slots=True)
class FindingsCheck:
    """The outcome of checking one run's stored findings.

    evaluated: the run has a finding set (it was evaluated); rows without one are a problem.
    rederived: the verdicts were derived again from the evidence and compared (False when the stored ones come
      from other check code, whose verdicts today's code may legitimately not reproduce).
    problems: what does not match, most telling first.
    """

    run_id: int
    evaluated: bool
    rederived: bool
    findings_checked: int
    problems: tuple[str, ...]


def ensure_findings(store: EvidenceStore, run_id: int, *, thresholds: Thresholds) -> None:
    """Evaluate and store the findings of a sealed run that has none stored yet (a running run has none)."""
    if finding_set(store, run_id) is not None or store.get_run(run_id).status == RunStatus.RUNNING.value:
        return
    try:
        save_findings(store, run_id, evaluate_run(store, run_id, thresholds=thresholds), thresholds=thresholds)
    except IntegrityError:
        if finding_set(store, run_id) is None:  # not a concurrent evaluation of the same run: a real failure
            raise


def check_findings(
    store: EvidenceStore, run_id: int, *, derived: list[Finding] | None = None, rederive: bool = True
) -> FindingsCheck:
    """Check a run's stored findings against their finding set and, where possible, against the evidence.

    derived: the verdicts already derived under the recorded thresholds (saves evaluating twice);
    rederive=False: check rows against the digest only.
    """
    recorded = finding_set(store, run_id)
    stored = list(iter_stored_findings(store, run_id))
    if recorded is None:
        problems = (f"{len(stored)} finding rows are stored without an evaluation record",) if stored else ()
        return FindingsCheck(run_id, evaluated=False, rederived=False, findings_checked=len(stored), problems=problems)
    found: list[str] = []
    if len(stored) != recorded.finding_count:
        found.append(f"{len(stored)} finding rows stored but {recorded.finding_count} were evaluated")
    version = recorded.canonical_version  # the record hashes and the digest are recomputed as they were written
    try:
        check_version(version)
    except CanonicalVersionError as exc:
        found.append(f"the digest cannot be recomputed: {exc.message}")
        return FindingsCheck(
            run_id, evaluated=True, rederived=False, findings_checked=len(stored), problems=tuple(found)
        )
    hashes = [finding_record_hash(run_id, finding, canonical_version=version) for _, finding in stored]
    header = set_header(
        run_id=run_id, thresholds=recorded.thresholds, checks_version=recorded.checks_version, count=len(stored)
    )
    if findings_digest(header, hashes, canonical_version=version) != recorded.digest:
        found.append("stored findings do not match the digest recorded when they were evaluated: rows were changed")
    found += _summary_problems(recorded, [finding for _, finding in stored])
    rederived = rederive and recorded.checks_version == checks_version()
    if rederived:
        if derived is None:
            derived = evaluate_run(store, run_id, thresholds=thresholds_from_record(recorded.thresholds))
        pairs = zip(hashes, (finding for _, finding in stored), strict=True)
        found += differences(run_id, pairs, derived, canonical_version=version)
    return FindingsCheck(
        run_id, evaluated=True, rederived=rederived, findings_checked=len(stored), problems=tuple(found)
    )


def _summary_problems(recorded: FindingSet, stored: list[Finding]) -> list[str]:
    """The verdicts fingerprint and oldest observation a set records (period history groups runs by them) must
    describe its rows; sets evaluated before they were recorded have neither."""
    if recorded.verdicts_sha256 is None:
        return []
    problems = []
    if verdicts_fingerprint(verdict_line(finding) for finding in stored) != recorded.verdicts_sha256:
        problems.append("the verdicts fingerprint recorded with the evaluation does not match the stored rows")
    oldest = oldest_observed(stored)
    if oldest != recorded.oldest_observed_at:
        recorded_text = recorded.oldest_observed_at.isoformat() if recorded.oldest_observed_at else "none"
        problems.append(
            f"the oldest observation recorded with the evaluation is {recorded_text}, "
            f"the rows give {oldest.isoformat() if oldest else 'none'}"
        )
    return problems


def differences(
    run_id: int, stored: Iterable[tuple[str, Finding]], derived: Iterable[Finding], *, canonical_version: int
) -> list[str]:
    """How stored findings (each with its record hash, already computed for the digest in `canonical_version`)
    differ from derived ones, verdict by verdict ([] when they are the same)."""
    expected = {finding_key(finding): finding for finding in derived}
    changed: list[str] = []
    extra: list[str] = []
    for record_hash, finding in stored:
        want = expected.pop(finding_key(finding), None)
        if want is None:
            extra.append(_describe(finding))
        elif record_hash != finding_record_hash(run_id, want, canonical_version=canonical_version):
            if str(finding.status) != str(want.status):
                changed.append(f"{_describe(finding)} is stored as {finding.status}, the evidence gives {want.status}")
            else:
                changed.append(f"{_describe(finding)} differs from what the evidence gives (reason, evidence or owner)")
    missing = [_describe(finding) for finding in expected.values()]
    out: list[str] = []
    for label, items in (
        ("verdicts differ from the evidence", changed),
        ("stored verdicts the evidence does not produce", extra),
        ("verdicts the evidence produces are missing", missing),
    ):
        if items:
            shown = "; ".join(items[:_SHOWN]) + ("; …" if len(items) > _SHOWN else "")
            out.append(f"{len(items)} {label}: {shown}")
    return out


def verified_findings(store: EvidenceStore, run_id: int, *, thresholds: Thresholds) -> list[Finding]:
    """The verdicts of a run for a packet: derived from its evidence now, under `thresholds`.

    Stored findings evaluated under the same thresholds and check code must be exactly these, and must match
    their digest; otherwise the store was altered and FindingsIntegrityError says how. Stored findings from other
    parameters (changed thresholds, upgraded checks) are replaced by the fresh evaluation.
    """
    derived = evaluate_run(store, run_id, thresholds=thresholds)
    recorded = finding_set(store, run_id)
    same_parameters = recorded is not None and (
        recorded.checks_version == checks_version() and recorded.thresholds == thresholds_record(thresholds)
    )
    if recorded is not None:
        check = check_findings(store, run_id, derived=derived, rederive=same_parameters)
        if check.problems:
            raise FindingsIntegrityError(
                f"the stored findings of run {run_id} do not match their evaluation: " + " | ".join(check.problems),
                hint="run `auditpack verify --store`; no packet is built on altered findings",
            )
    if not same_parameters:  # never evaluated, or under other thresholds or check code: store today's verdicts
        save_findings(store, run_id, derived, thresholds=thresholds)
    return derived


def _describe(finding: Finding) -> str:
    return f"{finding.check_id} on {finding.resource_id} ({finding.account_id}/{finding.region})"
