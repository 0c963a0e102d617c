"""Pure evaluation: findings, gaps, service usage and runs -> the status of every control of a catalog.

Status of a requirement (a control that is not a heading):
- out of scope (its scope, or its parent's, is not selected): not_applicable;
- inherited: inherited (AWS's part; the packet names the AWS attestation);
- manual: manual (the customer supplies evidence; see guidance);
- automated: the combined verdict of its checks: fail if any fails; else partial-evidence if any check's
  evidence is an error, a gap, stale or missing; else pass if any passes; else not_applicable;
- partial: fail or partial-evidence as for automated, otherwise manual: checks that pass (or do not apply)
  settle only the automated part, so the control still needs attested evidence (`checks_status` keeps the
  checks' own verdict).
A heading's status is the most severe of its children's, in the order fail > partial-evidence > manual > pass >
inherited > not_applicable; its automation and responsibility roll up from them too.
Summary counts are over requirements only (headings are not counted, so each requirement counts once):
`by_status` over every requirement (out-of-scope ones as not_applicable), `by_responsibility` over the
requirements in scope, by their overall responsibility.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from evidence.checks.registry import check_metadata
from evidence.checks.types import CheckMeta, Finding, ServiceUsage
from frameworks import reasons, responsibility
from frameworks.results import (
    Automation,
    AwsAttestation,
    ControlResult,
    ControlStatus,
    FrameworkStatus,
    GapRef,
    Responsibility,
    RunRef,
)
from frameworks.schema import Catalog, Control
from frameworks.structure import CatalogIndex, index_catalog, resolve_scopes
from frameworks.verdicts import Evidence, GapLike, check_verdict, resource_counts

SEVERITY_ORDER: tuple[ControlStatus, ...] = (
    ControlStatus.FAIL,
    ControlStatus.PARTIAL_EVIDENCE,
    ControlStatus.MANUAL,
    ControlStatus.PASS,
    ControlStatus.INHERITED,
    ControlStatus.NOT_APPLICABLE,
)


def worst(statuses: Iterable[ControlStatus]) -> ControlStatus:
    present = set(statuses)
    return next((status for status in SEVERITY_ORDER if status in present), ControlStatus.NOT_APPLICABLE)


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
) -> FrameworkStatus:
    """Evaluate every control of `catalog`. `usage` None means unknown (no usable run): then no check is
    excused for lack of resources. `scopes` None selects the catalog's default scopes."""
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError("as_of must be timezone-aware (UTC)")
    if freshness_hours < 1:
        raise ValueError("freshness_hours must be at least 1")
    selected = resolve_scopes(catalog, scopes)
    evidence = Evidence.build(findings, gaps, usage, as_of - timedelta(hours=freshness_hours))
    index = index_catalog(catalog)
    in_use = usage.in_use() if usage is not None else frozenset()
    evaluator = _Evaluator(index, evidence, checks or check_metadata(), in_use, selected, freshness_hours, not runs)
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
        matrix=responsibility.matrix(catalog, [index.controls[r.control_id] for r in in_scope], in_use),
        gap_count=len(evidence.gaps),
        stale_count=evaluator.stale_findings(),
        freshness_hours=freshness_hours,
        by_status=_tally((r.status for r in requirements), ControlStatus),
        by_responsibility=_tally((r.overall_responsibility for r in in_scope), Responsibility),
        scopes=selected,
        warnings=_warnings(runs, usage, as_of, freshness_hours),
    )


def _tally(
    values: Iterable[ControlStatus | Responsibility], kinds: type[ControlStatus] | type[Responsibility]
) -> dict[str, int]:
    counted = Counter(value.value for value in values)
    return {kind.value: counted.get(kind.value, 0) for kind in kinds}


def _warnings(
    runs: Sequence[RunRef], usage: ServiceUsage | None, as_of: datetime, freshness_hours: int
) -> tuple[str, ...]:
    if not runs:
        return (
            f"no complete or partial evidence run at or before {as_of.isoformat()}: automated checks have no evidence",
        )
    found: list[str] = []
    if usage is None:
        found.append("service usage is unknown: no check is excused for lack of resources")
    newest = max((run.finished_at or run.started_at) for run in runs)
    if newest < as_of - timedelta(hours=freshness_hours):
        found.append(
            f"the newest evidence run finished {newest.isoformat()}, more than {freshness_hours} h before "
            f"{as_of.isoformat()}: its evidence is stale"
        )
    return tuple(found)


class _Evaluator:
    def __init__(
        self,
        index: CatalogIndex,
        evidence: Evidence,
        checks: Mapping[str, CheckMeta],
        in_use: frozenset[str],
        scopes: frozenset[str],
        freshness_hours: int,
        no_run: bool,
    ) -> None:
        self.index, self.evidence, self.checks = index, evidence, checks
        self.in_use, self.scopes, self.freshness_hours, self.no_run = in_use, scopes, freshness_hours, no_run
        self.done: dict[str, ControlResult] = {}
        self._used_checks: set[str] = set()

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
        }

    def _requirement(self, control: Control, scope: str | None, in_scope: bool) -> ControlResult:
        assert control.automation is not None  # the schema requires it on every requirement
        automation = control.automation
        verdicts: tuple = ()
        checks_status: ControlStatus | None = None
        passed = failed = 0
        if not in_scope:
            status, reason = ControlStatus.NOT_APPLICABLE, f"out of scope: scope {scope!r} is not selected"
        elif automation is Automation.INHERITED:
            names = ", ".join(ref.name for ref in control.aws_evidence)
            status, reason = ControlStatus.INHERITED, f"AWS's responsibility, attested in: {names}"
        elif automation is Automation.MANUAL:
            status, reason = ControlStatus.MANUAL, "needs evidence the customer supplies (see guidance)"
        else:
            self._used_checks.update(ref.id for ref in control.checks)
            verdicts = tuple(check_verdict(ref, self.checks[ref.id], self.evidence) for ref in control.checks)
            passed, failed = resource_counts(
                f for ref in control.checks for f in self.evidence.findings.get(ref.id, ())
            )
            checks_status = worst(v.status for v in verdicts)
            reason = reasons.check_reason(
                checks_status,
                verdicts,
                passed=passed,
                failed=failed,
                freshness_hours=self.freshness_hours,
                no_run=self.no_run,
            )
            status = checks_status
            if automation is Automation.PARTIAL and checks_status in (ControlStatus.PASS, ControlStatus.NOT_APPLICABLE):
                status, reason = ControlStatus.MANUAL, reasons.partial_reason(checks_status, reason)
        return ControlResult(
            **self._base(control, scope, in_scope),  # type: ignore[arg-type]
            automation=automation,
            responsibility=responsibility.per_service(control, self.in_use),
            overall_responsibility=responsibility.overall(control, self.in_use),
            status=status,
            status_reason=reason,
            checks=verdicts,
            passed=passed,
            failed=failed,
            aws_evidence=tuple(
                AwsAttestation(name=r.name, covers=r.covers, source=r.source) for r in control.aws_evidence
            ),
            checks_status=checks_status,
            attestation_required=in_scope and automation in (Automation.MANUAL, Automation.PARTIAL),
            gaps=_unique(gap for verdict in verdicts for gap in verdict.gaps),
            stale=sum(verdict.stale for verdict in verdicts),
        )

    def _heading(self, control: Control, scope: str | None, in_scope: bool) -> ControlResult:
        children = [self.done[child] for child in self.index.children[control.id]]
        live = [child for child in children if child.in_scope] or children
        descendants = [self.index.controls[d] for d in self.index.descendants(control.id)]
        check_ids = {ref.id for d in descendants if not d.heading and self.done[d.id].in_scope for ref in d.checks}
        passed, failed = resource_counts(f for check_id in check_ids for f in self.evidence.findings.get(check_id, ()))
        per_service = {
            service: responsibility.combine(child.responsibility[service] for child in live)
            for service in responsibility.ordered_services(self.in_use)
        }
        statuses = [child.status for child in children]
        status = worst(statuses) if in_scope else ControlStatus.NOT_APPLICABLE
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
            checks_status=None,
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
