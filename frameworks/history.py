"""Control status at every capture of a period: each usable run finished in it, evaluated as of its own end with
the customer evidence and exceptions in force at that moment (by `frameworks.evaluate`, where the rules live).

Captures (`select_captures`): the complete and partial runs finished within [since, until], oldest first; `all`
takes every one, `daily` the last of each UTC day. Failed and interrupted runs are never captures; they are kept
apart (`PeriodHistory.unusable`) so a report can say why a day has none.

Nightly captures of a quiet estate hand the evaluation the same inputs night after night, so captures are grouped
by exactly what a control status depends on and each group is evaluated once:
- the run's verdicts: the fingerprint its finding set records (`evidence.findings_digest.verdicts_fingerprint`)
  when none of its findings is stale at the capture (its oldest observation lies inside the freshness window);
  otherwise each finding's verdict and whether it is stale then, read from its rows (runs evaluated before the
  fingerprint was recorded are read this way too);
- its gaps (where and what failed; not the message) and the evidence its service usage is read from;
- the customer epoch: how many customer evidence events, validity bounds and exception expiries lie at or before
  the capture (an item's or exception's state only changes at those moments).
Only each control's overall status and its two axes are kept per capture (`Outcome`), not reasons or counts.
`memoise=False` evaluates every capture on its own (the tests compare both).
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from evidence.checks.types import CheckMeta, Finding, ServiceUsage
from evidence.customer.types import CustomerEvidence
from evidence.findings_model import FindingSet
from evidence.models import Gap, Run, RunStatus
from evidence.period import finding_sets, gaps_by_run, runs_finished, usage_bases
from evidence.store import EvidenceStore
from frameworks.asof import FindingsProvider, UsageProvider, run_ref
from frameworks.evaluate import evaluate_framework
from frameworks.results import AutomatedResult, Automation, EvidenceState, FrameworkStatus, OverallStatus, RunRef
from frameworks.schema import Catalog
from frameworks.verdicts import is_stale


class Captures(enum.StrEnum):
    """Which runs of a period are evaluated."""

    ALL = "all"  # every complete or partial run
    DAILY = "daily"  # the last complete or partial run of each UTC day


@dataclass(frozen=True, slots=True)
class Capture:
    """One evaluated run: its status at `observed_at` (when it was sealed) is a capture of every control."""

    run: RunRef

    @property
    def run_id(self) -> int:
        return self.run.id

    @property
    def observed_at(self) -> datetime:
        assert self.run.finished_at is not None  # captures are sealed runs
        return self.run.finished_at

    @property
    def day(self) -> date:
        return self.observed_at.date()


@dataclass(frozen=True, slots=True)
class Outcome:
    """A control at one capture: its overall status and its two axes."""

    status: OverallStatus
    automated: AutomatedResult
    evidence: EvidenceState


@dataclass(frozen=True, slots=True)
class CaptureStatus:
    """One entry of a control's history."""

    run_id: int
    observed_at: datetime
    status: OverallStatus
    automated: AutomatedResult
    evidence: EvidenceState


@dataclass(frozen=True, slots=True)
class ControlInfo:
    """What a period report says about a control besides its statuses (from the catalog and the scopes)."""

    control_id: str
    title: str
    family_id: str
    family_title: str
    heading: bool
    parent_id: str | None
    automation: Automation
    in_scope: bool
    attestation_required: bool  # manual and partial controls in scope: customer evidence must support them


@dataclass(frozen=True, slots=True)
class PeriodHistory:
    """Every control's outcome at every capture of [since, until]. `outcomes[i][j]` is control `controls[j]` at
    capture `captures[i]`."""

    framework_id: str
    name: str
    version: str
    since: datetime
    until: datetime
    selection: Captures
    captures: tuple[Capture, ...]
    controls: tuple[ControlInfo, ...]
    outcomes: tuple[tuple[Outcome, ...], ...]
    unusable: tuple[RunRef, ...] = ()  # failed or interrupted runs that finished in the period
    evaluations: int = 0  # how many distinct evaluations the captures needed

    def index(self, control_id: str) -> int:
        for position, control in enumerate(self.controls):
            if control.control_id == control_id:
                return position
        raise KeyError(control_id)

    def outcomes_of(self, control_id: str) -> tuple[Outcome, ...]:
        position = self.index(control_id)
        return tuple(row[position] for row in self.outcomes)

    def control_history(self, control_id: str) -> tuple[CaptureStatus, ...]:
        """The control's status at each capture, oldest first: what `status --from --to` and the API's history
        route list, and what an OSCAL export gives one observation each."""
        return tuple(
            CaptureStatus(capture.run_id, capture.observed_at, outcome.status, outcome.automated, outcome.evidence)
            for capture, outcome in zip(self.captures, self.outcomes_of(control_id), strict=True)
        )


def select_captures(runs: Iterable[Run | RunRef], selection: Captures) -> tuple[Capture, ...]:
    """The captures among usable runs (oldest first): all of them, or the last to finish on each UTC day."""
    refs = sorted(
        (run_ref(run) if isinstance(run, Run) else run for run in runs),
        key=lambda ref: (ref.finished_at or datetime.min, ref.id),
    )
    usable = [ref for ref in refs if ref.status in {s.value for s in RunStatus.usable()} and ref.finished_at]
    if selection is Captures.DAILY:
        last: dict[date, RunRef] = {}
        for ref in usable:
            last[ref.finished_at.date()] = ref  # type: ignore[union-attr]  # usable refs are sealed
        usable = list(last.values())
    return tuple(Capture(ref) for ref in usable)


def customer_moments(customer: CustomerEvidence) -> list[datetime]:
    """Every moment an item's or exception's state can change: its review events, an item's validity bounds and
    an exception's expiry (`state_as_of` compares with <=, so a state holds from its moment on)."""
    moments: set[datetime] = set()
    for item in customer.items:
        moments.update(event.at for event in item.events)
        moments.update((item.valid_from, item.valid_until))
    for exception in customer.exceptions:
        moments.update(event.at for event in exception.events)
        moments.add(exception.expires_at)
    return sorted(moments)


def _gap_key(gaps: Iterable[Gap]) -> frozenset[tuple[object, ...]]:
    # Status reads where a gap is and what failed (gap_bears_on, service usage), never its message.
    return frozenset(
        (gap.account_id, gap.region, gap.service, gap.operation, gap.error_code, gap.kind, gap.resource_id)
        for gap in gaps
    )


def _verdict_rows(findings: Iterable[Finding], stale_before: datetime) -> frozenset[tuple[object, ...]]:
    return frozenset(
        (f.check_id, str(f.status), f.account_id, f.region, f.resource_id, is_stale(f, stale_before)) for f in findings
    )


def _fresh_fingerprint(recorded: FindingSet | None, stale_before: datetime) -> str | None:
    """The recorded verdicts fingerprint, when it decides the run's statuses at this capture on its own: every
    finding's observation lies inside the freshness window (so only the verdicts matter)."""
    if recorded is None or recorded.verdicts_sha256 is None:
        return None
    oldest = recorded.oldest_observed_at
    return recorded.verdicts_sha256 if oldest is None or oldest >= stale_before else None


def _info(status: FrameworkStatus) -> tuple[ControlInfo, ...]:
    return tuple(
        ControlInfo(
            control_id=c.control_id,
            title=c.title,
            family_id=c.family_id,
            family_title=c.family_title,
            heading=c.heading,
            parent_id=c.parent_id,
            automation=c.automation,
            in_scope=c.in_scope,
            attestation_required=c.attestation_required,
        )
        for c in status.controls
    )


class _Outcomes:
    """Interns outcomes: a year of captures of 300 controls holds a few dozen distinct ones."""

    def __init__(self) -> None:
        self._seen: dict[tuple[OverallStatus, AutomatedResult, EvidenceState], Outcome] = {}

    def of(self, status: FrameworkStatus) -> tuple[Outcome, ...]:
        return tuple(self._one(c.status, c.automated, c.evidence) for c in status.controls)

    def _one(self, status: OverallStatus, automated: AutomatedResult, evidence: EvidenceState) -> Outcome:
        key = (status, automated, evidence)
        found = self._seen.get(key)
        if found is None:
            found = self._seen[key] = Outcome(status, automated, evidence)
        return found


def period_history(
    store: EvidenceStore,
    catalog: Catalog,
    *,
    since: datetime,
    until: datetime,
    selection: Captures,
    freshness_hours: int,
    customer: CustomerEvidence,
    findings_for: FindingsProvider,
    usage_for: UsageProvider,
    scopes: Collection[str] | None = None,
    checks: Mapping[str, CheckMeta] | None = None,
    accounts: Collection[str] | None = None,
    memoise: bool = True,
) -> PeriodHistory:
    """Evaluate `catalog` at every capture of [since, until].

    customer: the customer evidence with its histories up to `until` (each capture reads its states at its own
      moment); findings_for: a run's stored findings (evaluating a run never evaluated, as `status` does);
    accounts: evaluate these accounts only.
    """
    if since > until:
        raise ValueError(f"the period starts {since.isoformat()}, after it ends {until.isoformat()}")
    finished = runs_finished(store, since=since, until=until)
    usable = {s.value for s in RunStatus.usable()}
    captures = select_captures([run for run in finished if run.status in usable], selection)
    unusable = tuple(run_ref(run) for run in finished if run.status not in usable)
    scope = frozenset(accounts) if accounts else None
    evaluate = _Evaluation(
        store,
        catalog,
        freshness_hours=freshness_hours,
        customer=customer,
        findings_for=findings_for,
        usage_for=usage_for,
        scopes=scopes,
        checks=checks,
        scope=scope,
    )
    outcomes = evaluate.captures(captures, memoise=memoise)
    structure = evaluate.last or evaluate_framework(
        catalog,
        findings=(),
        gaps=(),
        usage=None,
        runs=(),
        as_of=until,
        freshness_hours=freshness_hours,
        scopes=scopes,
        checks=checks,
        customer=customer,
    )
    return PeriodHistory(
        framework_id=catalog.id,
        name=catalog.name,
        version=catalog.version,
        since=since,
        until=until,
        selection=selection,
        captures=captures,
        controls=_info(structure),
        outcomes=outcomes,
        unusable=unusable,
        evaluations=evaluate.count,
    )


class _Evaluation:
    """Evaluates captures, once per distinct input (see the module docstring)."""

    def __init__(
        self,
        store: EvidenceStore,
        catalog: Catalog,
        *,
        freshness_hours: int,
        customer: CustomerEvidence,
        findings_for: FindingsProvider,
        usage_for: UsageProvider,
        scopes: Collection[str] | None,
        checks: Mapping[str, CheckMeta] | None,
        scope: frozenset[str] | None,
    ) -> None:
        self.store, self.catalog = store, catalog
        self.freshness = timedelta(hours=freshness_hours)
        self.freshness_hours = freshness_hours
        self.customer, self.moments = customer, customer_moments(customer)
        self.findings_for, self.usage_for = findings_for, usage_for
        self.scopes, self.checks, self.scope = scopes, checks, scope
        self.last: FrameworkStatus | None = None
        self.count = 0
        self._interned = _Outcomes()
        self._usage: dict[Hashable, ServiceUsage] = {}

    def captures(self, captures: Sequence[Capture], *, memoise: bool) -> tuple[tuple[Outcome, ...], ...]:
        run_ids = [capture.run_id for capture in captures]
        sets = finding_sets(self.store, run_ids)
        gaps = gaps_by_run(self.store, run_ids)
        bases = usage_bases(self.store, run_ids)
        done: dict[Hashable, tuple[Outcome, ...]] = {}
        results: list[tuple[Outcome, ...]] = []
        for position, capture in enumerate(captures):
            stale_before = capture.observed_at - self.freshness
            run_gaps = [gap for gap in gaps[capture.run_id] if self.scope is None or gap.account_id in self.scope]
            fingerprint = _fresh_fingerprint(sets.get(capture.run_id), stale_before)
            findings: Sequence[Finding] | None = None
            if fingerprint is not None:
                verdicts: Hashable = ("fingerprint", fingerprint)
            else:  # not evaluated when recorded, evaluated before fingerprints, or some evidence may be stale
                findings = self._findings(capture.run_id)
                verdicts = ("rows", _verdict_rows(findings, stale_before))
            gap_key = _gap_key(run_gaps)
            usage_key = (bases[capture.run_id], _gap_key(gaps[capture.run_id]))
            epoch = bisect.bisect_right(self.moments, capture.observed_at)
            key: Hashable = (verdicts, gap_key, usage_key, epoch) if memoise else position
            if key not in done:
                usage = self._usage_of(capture.run_id, usage_key)
                if findings is None:
                    findings = self._findings(capture.run_id)
                status = self._evaluate(capture, findings, run_gaps, usage)
                done[key] = self._interned.of(status)
            results.append(done[key])
        return tuple(results)

    def _findings(self, run_id: int) -> Sequence[Finding]:
        findings = self.findings_for(self.store, run_id)
        return findings if self.scope is None else [f for f in findings if f.account_id in self.scope]

    def _usage_of(self, run_id: int, key: Hashable) -> ServiceUsage:
        usage = self._usage.get(key)
        if usage is None:
            usage = self._usage[key] = self.usage_for(self.store, run_id)
        return usage if self.scope is None else usage.for_accounts(self.scope)

    def _evaluate(
        self, capture: Capture, findings: Sequence[Finding], gaps: Sequence[Gap], usage: ServiceUsage
    ) -> FrameworkStatus:
        self.count += 1
        status = evaluate_framework(
            self.catalog,
            findings=findings,
            gaps=gaps,
            usage=usage,
            runs=(capture.run,),
            as_of=capture.observed_at,
            freshness_hours=self.freshness_hours,
            scopes=self.scopes,
            checks=self.checks,
            customer=self.customer,
        )
        self.last = status
        return status


def days_of(since: datetime, until: datetime) -> tuple[date, ...]:
    """The UTC calendar days a period covers, first to last."""
    first, last = since.date(), until.date()
    return tuple(first + timedelta(days=offset) for offset in range((last - first).days + 1))
