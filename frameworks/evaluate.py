"""Pure evaluation: findings, gaps, service usage, runs and customer evidence -> the status of every control.

Each requirement (a control that is not a heading) gets two axes and one overall status (`frameworks.results`):
- automated (`AutomatedResult`), for automated and partial controls: the combined verdict of its checks, after
  the exceptions active at as_of set matching failing findings apart (`frameworks.exceptions`): fail if any
  unexcepted finding fails; else incomplete if any check's evidence is an error, a gap, stale or missing; else
  excepted if a failure was excepted; else pass if any passes; else not_applicable. Manual and inherited
  controls read `none`;
- customer evidence (`EvidenceState`), for manual and partial controls: from the items naming the control,
  as of as_of (`frameworks.overall.SupportingItems`);
- the overall status, by the rules of `frameworks.overall` (the only place they are written).
Out-of-scope requirements (their scope, or their parent's, is not selected) are not_applicable.
A heading takes the most severe of its children on each axis (orders in `frameworks.overall`); its automation
and responsibility roll up from them too.
Summary counts are over requirements only (headings are not counted, so each requirement counts once):
`by_status` over every requirement by overall status (out-of-scope ones as not_applicable), `by_responsibility`
over the requirements in scope, by their overall responsibility.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from evidence.checks.registry import check_metadata
from evidence.checks.types import CheckMeta, Finding, ServiceUsage
from evidence.customer.types import ControlRef, CustomerEvidence, RiskException
from frameworks import exceptions as excepting
from frameworks import expiring, overall, reasons, responsibility
from frameworks.results import (
    AutomatedResult,
    Automation,
    AwsAttestation,
    CheckVerdict,
    ControlResult,
    EvidenceState,
    FrameworkStatus,
    GapRef,
    OverallStatus,
    Responsibility,
    RunRef,
)
from frameworks.schema import Catalog, Control
from frameworks.structure import CatalogIndex, index_catalog, resolve_scopes
from frameworks.verdicts import Evidence, GapLike, check_verdict, resource_counts
from frameworks.warnings import run_warnings


def evaluate_framework(
    catalog: Catalog,
    *,
    findings: Iterable[Finding],
    gaps: Iterable[GapLike],
    usage: ServiceUsage | None,
    runs: Sequence[RunRef],
    as_of: datetime,
    freshness_hours: int,
    scopes: Collection[str] | None = None,
    checks: Mapping[str, CheckMeta] | None = None,
    customer: CustomerEvidence | None = None,
) -> FrameworkStatus:
    """Evaluate every control of `catalog`. `usage` None means unknown (no usable run): then no check is
    excused for lack of resources. `scopes` None selects the catalog's default scopes. `customer`: the
    customer evidence items and exceptions with their histories (None: there are none), read as of `as_of`."""
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError("as_of must be timezone-aware (UTC)")
    if freshness_hours < 1:
        raise ValueError("freshness_hours must be at least 1")
    selected = resolve_scopes(catalog, scopes)
    evidence = Evidence.build(findings, gaps, usage, as_of - timedelta(hours=freshness_hours))
    index = index_catalog(catalog)
    in_use = usage.in_use() if usage is not None else frozenset()
    # responsibility is per service type in use, container services split by hosting ("ecs-fargate")
    keys = usage.responsibility_keys() if usage is not None else frozenset()
    customer = customer or CustomerEvidence()
    evaluator = _Evaluator(index, evidence, checks or check_metadata(), keys, selected, freshness_hours, not runs)
    evaluator.customer(customer, as_of)
    results = {control_id: evaluator.result(control_id) for control_id in index.post_order()}
    ordered = tuple(results[control.id] for control in catalog.controls)
    requirements = [r for r in ordered if not r.heading]
    in_scope = [r for r in requirements if r.in_scope]
    return FrameworkStatus(
        framework_id=catalog.id,
        name=catalog.name,
        version=catalog.version,
        as_of=as_of,
        runs=tuple(runs),
        services_in_use=in_use,
        controls=ordered,
        matrix=responsibility.matrix(catalog, [index.controls[r.control_id] for r in in_scope], keys),
        gap_count=len(evidence.gaps),
        stale_count=evaluator.stale_findings(),
        freshness_hours=freshness_hours,
        by_status=_tally((r.status for r in requirements), OverallStatus),
        by_responsibility=_tally((r.overall_responsibility for r in in_scope), Responsibility),
        scopes=selected,
        warnings=run_warnings(runs, usage, as_of, freshness_hours),
        expiring_items=expiring.items(catalog, customer, as_of),
        expiring_exceptions=expiring.exceptions(catalog, customer, as_of),
        aws_role=catalog.aws_role,
    )


def _tally(
    values: Iterable[OverallStatus | Responsibility], kinds: type[OverallStatus] | type[Responsibility]
) -> dict[str, int]:
    counted = Counter(value.value for value in values)
    return {kind.value: counted.get(kind.value, 0) for kind in kinds}


class _Evaluator:
    def __init__(
        self,
        index: CatalogIndex,
        evidence: Evidence,
        checks: Mapping[str, CheckMeta],
        keys: frozenset[str],
        scopes: frozenset[str],
        freshness_hours: int,
        no_run: bool,
    ) -> None:
        self.index, self.evidence, self.checks = index, evidence, checks
        # responsibility keys in use: service types, container services split by hosting
        self.keys, self.scopes, self.freshness_hours, self.no_run = keys, scopes, freshness_hours, no_run
        self.done: dict[str, ControlResult] = {}
        self._used_checks: set[str] = set()
        self._verdicts: dict[str, tuple[CheckVerdict, ...]] = {}  # per requirement, for heading resource counts
        self._items: overall.ItemIndex = overall.ItemIndex()
        self._exceptions: tuple[RiskException, ...] = ()
        self._as_of: datetime | None = None

    def customer(self, evidence: CustomerEvidence, as_of: datetime) -> None:
        self._items = overall.ItemIndex.build(evidence.items)
        self._exceptions = excepting.active(evidence.exceptions, as_of)
        self._as_of = as_of

    def stale_findings(self) -> int:
        return sum(
            1
            for check_id in self._used_checks
            for finding in self.evidence.findings.get(check_id, ())
            if self.evidence.is_stale(finding)
        )

    def result(self, control_id: str) -> ControlResult:
        control = self.index.controls[control_id]
        scope = self.index.scope[control_id]
        in_scope = scope is None or scope in self.scopes
        result = (
            self._heading(control, scope, in_scope) if control.heading else self._requirement(control, scope, in_scope)
        )
        self.done[control_id] = result
        return result

    def _base(self, control: Control, scope: str | None, in_scope: bool) -> dict[str, object]:
        family = next(f for f in self.index.catalog.families if f.id == control.family)
        return {
            "control_id": control.id,
            "title": control.title,
            "description": control.description,
            "family_id": family.id,
            "family_title": family.title,
            "guidance": control.guidance,
            "requirement_type": control.requirement_type,
            "heading": control.heading,
            "parent_id": control.parent,
            "level": control.level,
            "children": self.index.children.get(control.id, ()),
            "scope": scope,
            "in_scope": in_scope,
            "expected_evidence": control.expected_evidence,
            "customer_attestation": control.customer_attestation,
        }

    def _requirement(self, control: Control, scope: str | None, in_scope: bool) -> ControlResult:
        assert control.automation is not None and self._as_of is not None  # schema; set by customer()
        automation = control.automation
        ref = ControlRef(self.index.catalog.id, control.id)
        verdicts: tuple[CheckVerdict, ...] = ()
        automated = AutomatedResult.NONE
        checks_reason: str | None = None
        passed = failed = excepted = 0
        if in_scope and automation in (Automation.AUTOMATED, Automation.PARTIAL):
            verdicts, (passed, failed, excepted) = self._checks(control, ref)
            automated = overall.worst_automated(v.status for v in verdicts)
            checks_reason = reasons.check_reason(
                automated,
                verdicts,
                passed=passed,
                failed=failed,
                freshness_hours=self.freshness_hours,
                no_run=self.no_run,
            )
        elif not in_scope and automation in (Automation.AUTOMATED, Automation.PARTIAL):
            automated = AutomatedResult.NOT_APPLICABLE
        supporting = self._items.supporting(ref, self._as_of)
        alternative = supporting.attested_alternative() if control.requirement_type == "addressable" else None
        if automation is Automation.INHERITED or not in_scope:
            alternative = None  # AWS's part, or not evaluated: nothing the customer attests changes it
        evidence = overall.evidence_state(automation, supporting, in_scope=in_scope, alternative=bool(alternative))
        status = overall.overall_status(
            automation, automated, evidence, in_scope=in_scope, alternative=alternative is not None
        )
        wanted = control.expected_evidence or control.guidance
        if not in_scope:
            reason = f"out of scope: scope {scope!r} is not selected"
        elif automation is Automation.INHERITED:
            reason = f"AWS's responsibility, attested in: {', '.join(ref.name for ref in control.aws_evidence)}"
            reason += reasons.customer_statement(control.customer_attestation, supporting)
        else:
            reason = reasons.overall_reason(status, automation, checks_reason, supporting, wanted, alternative)
        self._verdicts[control.id] = verdicts
        return ControlResult(
            **self._base(control, scope, in_scope),  # type: ignore[arg-type]
            automation=automation,
            responsibility=responsibility.per_service(control, self.keys),
            overall_responsibility=responsibility.overall(control, self.keys),
            status=status,
            status_reason=reason,
            checks=verdicts,
            passed=passed,
            failed=failed,
            aws_evidence=tuple(
                AwsAttestation(name=r.name, covers=r.covers, source=r.source) for r in control.aws_evidence
            ),
            automated=automated,
            evidence=evidence,
            evidence_items=tuple(item.id for item in supporting.approved),
            evidence_submitted=tuple(item.id for item in supporting.submitted),
            evidence_expired=tuple(item.id for item in supporting.expired),
            exceptions=tuple(sorted({e.exception_id for v in verdicts for e in v.excepted})),
            excepted=excepted,
            attestation_required=in_scope and automation in (Automation.MANUAL, Automation.PARTIAL),
            gaps=_unique(gap for verdict in verdicts for gap in verdict.gaps),
            stale=sum(verdict.stale for verdict in verdicts),
        )

    def _checks(self, control: Control, ref: ControlRef) -> tuple[tuple[CheckVerdict, ...], tuple[int, int, int]]:
        self._used_checks.update(check.id for check in control.checks)
        active = excepting.for_control(self._exceptions, ref)
        verdicts = tuple(
            check_verdict(check, self.checks[check.id], self.evidence, control=ref, exceptions=active)
            for check in control.checks
        )
        return verdicts, self._counts(verdicts)

    def _counts(self, verdicts: Iterable[CheckVerdict]) -> tuple[int, int, int]:
        """Distinct resources passing, failing and excepted across the checks of one or more requirements; a
        finding excepted for one control but failing for another counts as failing."""
        verdicts = list(verdicts)
        waived = {e.finding for v in verdicts for e in v.excepted}
        if waived:  # hashing every finding only when some are excepted: usually none are
            waived -= {f for v in verdicts for f in v.failing}
        check_ids = {v.check_id for v in verdicts}
        findings = [f for c in check_ids for f in self.evidence.findings.get(c, ())]
        if waived:
            findings = [f for f in findings if f not in waived]
        return resource_counts(findings, waived)

    def _heading(self, control: Control, scope: str | None, in_scope: bool) -> ControlResult:
        children = [self.done[child] for child in self.index.children[control.id]]
        live = [child for child in children if child.in_scope] or children
        descendants = self.index.descendants(control.id)
        passed, failed, excepted = self._counts(
            v for d in descendants if self.done[d].in_scope for v in self._verdicts.get(d, ())
        )
        per_service = {
            service: responsibility.combine(child.responsibility[service] for child in live)
            for service in responsibility.ordered_services(self.keys)
        }
        statuses = [child.status for child in children]
        status = overall.worst_overall(statuses) if in_scope else OverallStatus.NOT_APPLICABLE
        attestations = {ref.name: AwsAttestation(ref.name, ref.covers, ref.source) for ref in control.aws_evidence}
        for child in live:
            for attestation in child.aws_evidence:
                attestations.setdefault(attestation.name, attestation)
        return ControlResult(
            **self._base(control, scope, in_scope),  # type: ignore[arg-type]
            automation=_rollup_automation(child.automation for child in live),
            responsibility={service: value for service, value in per_service.items() if value is not None},
            overall_responsibility=responsibility.combine(child.overall_responsibility for child in live)
            or control.responsibility["default"],
            status=status,
            status_reason=reasons.heading_reason(statuses)
            if in_scope
            else f"out of scope: scope {scope!r} is not selected",
            checks=(),
            passed=passed,
            failed=failed,
            aws_evidence=tuple(attestations.values()),
            automated=overall.worst_automated(child.automated for child in live)
            if in_scope
            else AutomatedResult.NOT_APPLICABLE,
            evidence=overall.worst_evidence(child.evidence for child in live) if in_scope else EvidenceState.NOT_NEEDED,
            excepted=excepted,
            exceptions=tuple(sorted({e for child in live for e in child.exceptions})),
            attestation_required=in_scope and any(child.attestation_required for child in live),
            gaps=_unique(gap for child in live for gap in child.gaps),
            stale=sum(child.stale for child in live),
        )


def _rollup_automation(automations: Iterable[Automation]) -> Automation:
    """automated: every child with checks is automated and none needs attestation; inherited: all inherited;
    manual: no child has checks but some need attestation; partial: checks cover some of it, attestation the rest."""
    present = set(automations)
    checked = present & {Automation.AUTOMATED, Automation.PARTIAL}
    attested = present & {Automation.PARTIAL, Automation.MANUAL}
    if not checked:
        return Automation.MANUAL if attested else Automation.INHERITED
    return Automation.PARTIAL if attested else Automation.AUTOMATED


def _unique(gaps: Iterable[GapRef]) -> tuple[GapRef, ...]:
    return tuple(dict.fromkeys(gaps))
