"""The status rules, in one place: the automated result x the customer evidence state -> the overall status.

| control          | overall status                                                                          |
| ---------------- | --------------------------------------------------------------------------------------- |
| out of scope     | not_applicable                                                                          |
| inherited        | inherited (an optional customer statement, e.g. "no in-scope facilities", never changes it) |
| automated        | pass -> met; fail -> not_met; excepted -> excepted; incomplete -> incomplete;           |
|                  | not_applicable -> not_applicable                                                        |
| partial          | fail -> not_met; incomplete -> incomplete; otherwise the evidence decides: approved ->  |
|                  | met (excepted when the automated result is excepted), else evidence_needed              |
| manual           | approved -> met, else evidence_needed                                                   |
| HIPAA addressable| an approved, unexpired attestation supporting it (a documented alternative) -> met,      |
|                  | whatever the automated result; the automated axis still shows what the checks found     |

The customer evidence state: approved if at least one approved, unexpired item supports the control; else
submitted if one awaits review; else expired if an approved one lapsed; else needed. Controls that need no
evidence (automated, inherited, out of scope) read not_needed, except an automated addressable specification
met by an attested alternative, which reads approved (the attestation is what it rests on), and an inherited
control with items naming it (its optional customer statement), which reads their state.

Headings take the most severe of their children on each axis (orders below).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from evidence.customer.types import ControlRef, CustomerItem, ItemKind, ItemState
from frameworks.results import AutomatedResult, Automation, EvidenceState, OverallStatus

# Most severe first: a heading (and a control over several checks) takes the first present.
OVERALL_ORDER: tuple[OverallStatus, ...] = (
    OverallStatus.NOT_MET,
    OverallStatus.INCOMPLETE,
    OverallStatus.EVIDENCE_NEEDED,
    OverallStatus.EXCEPTED,
    OverallStatus.MET,
    OverallStatus.INHERITED,
    OverallStatus.NOT_APPLICABLE,
)
AUTOMATED_ORDER: tuple[AutomatedResult, ...] = (
    AutomatedResult.FAIL,
    AutomatedResult.INCOMPLETE,
    AutomatedResult.EXCEPTED,
    AutomatedResult.PASS,
    AutomatedResult.NOT_APPLICABLE,
    AutomatedResult.NONE,
)
# Lapsed evidence first: a control that was met and no longer is needs attention soonest.
EVIDENCE_ORDER: tuple[EvidenceState, ...] = (
    EvidenceState.EXPIRED,
    EvidenceState.NEEDED,
    EvidenceState.SUBMITTED,
    EvidenceState.APPROVED,
    EvidenceState.NOT_NEEDED,
)


def worst_overall(statuses: Iterable[OverallStatus]) -> OverallStatus:
    present = set(statuses)
    return next((s for s in OVERALL_ORDER if s in present), OverallStatus.NOT_APPLICABLE)


def worst_automated(results: Iterable[AutomatedResult]) -> AutomatedResult:
    present = set(results)
    return next((r for r in AUTOMATED_ORDER if r in present), AutomatedResult.NONE)


def worst_evidence(states: Iterable[EvidenceState]) -> EvidenceState:
    present = set(states)
    return next((s for s in EVIDENCE_ORDER if s in present), EvidenceState.NOT_NEEDED)


@dataclass(frozen=True, slots=True)
class SupportingItems:
    """The customer evidence items that name one control, sorted by what they are worth at the as-of time."""

    approved: tuple[CustomerItem, ...] = ()  # approved and within validity: the control may rest on them
    submitted: tuple[CustomerItem, ...] = ()  # awaiting review
    expired: tuple[CustomerItem, ...] = ()  # approved, past valid_until

    @classmethod
    def for_control(cls, items: Iterable[CustomerItem], ref: ControlRef, as_of: datetime) -> SupportingItems:
        approved, submitted, expired = [], [], []
        for item in items:
            if ref not in item.controls:
                continue
            state = item.state_as_of(as_of)
            if item.approved_at(as_of):
                approved.append(item)
            elif state is ItemState.SUBMITTED:
                submitted.append(item)
            elif state is ItemState.EXPIRED:
                expired.append(item)
            # rejected, retracted (incl. superseded) or approved but not yet valid: no bearing on the status
        return cls(tuple(approved), tuple(submitted), tuple(expired))

    def any(self) -> bool:
        return bool(self.approved or self.submitted or self.expired)

    def state(self) -> EvidenceState:
        if self.approved:
            return EvidenceState.APPROVED
        if self.submitted:
            return EvidenceState.SUBMITTED
        return EvidenceState.EXPIRED if self.expired else EvidenceState.NEEDED

    def attested_alternative(self) -> CustomerItem | None:
        """An approved, unexpired attestation: for a HIPAA addressable specification, the documented
        alternative measure (45 CFR 164.306(d)(3)) that meets it."""
        return next((item for item in self.approved if item.kind is ItemKind.ATTESTATION), None)


@dataclass(frozen=True, slots=True)
class ItemIndex:
    """Customer evidence items by the controls they name (an item may name controls of several frameworks)."""

    by_control: dict[ControlRef, tuple[CustomerItem, ...]] = field(default_factory=dict)

    @classmethod
    def build(cls, items: Iterable[CustomerItem]) -> ItemIndex:
        found: dict[ControlRef, list[CustomerItem]] = {}
        for item in items:
            for ref in dict.fromkeys(item.controls):
                found.setdefault(ref, []).append(item)
        return cls({ref: tuple(listed) for ref, listed in found.items()})

    def supporting(self, ref: ControlRef, as_of: datetime) -> SupportingItems:
        return SupportingItems.for_control(self.by_control.get(ref, ()), ref, as_of)


def evidence_state(
    automation: Automation, supporting: SupportingItems, *, in_scope: bool, alternative: bool = False
) -> EvidenceState:
    """`alternative`: an addressable specification met by an attested alternative reads approved even when
    automated (the attestation is then what it rests on)."""
    if not in_scope:
        return EvidenceState.NOT_NEEDED
    if automation is Automation.INHERITED:
        # AWS's part: nothing is needed, but a customer statement supplied (no in-scope facilities) shows
        return supporting.state() if supporting.any() else EvidenceState.NOT_NEEDED
    if alternative:
        return EvidenceState.APPROVED
    return EvidenceState.NOT_NEEDED if automation is Automation.AUTOMATED else supporting.state()


def overall_status(
    automation: Automation,
    automated: AutomatedResult,
    evidence: EvidenceState,
    *,
    in_scope: bool = True,
    alternative: bool = False,
) -> OverallStatus:
    """The overall status of a requirement. `alternative`: a HIPAA addressable specification supported by an
    approved, unexpired attestation of a documented alternative measure."""
    if not in_scope:
        return OverallStatus.NOT_APPLICABLE
    if automation is Automation.INHERITED:
        return OverallStatus.INHERITED
    if alternative:
        return OverallStatus.MET
    approved = evidence is EvidenceState.APPROVED
    if automation is Automation.MANUAL:
        return OverallStatus.MET if approved else OverallStatus.EVIDENCE_NEEDED
    if automated is AutomatedResult.FAIL:
        return OverallStatus.NOT_MET
    if automated in (AutomatedResult.INCOMPLETE, AutomatedResult.NONE):
        return OverallStatus.INCOMPLETE  # NONE: a checked control without a verdict is missing evidence
    if automation is Automation.PARTIAL and not approved:
        return OverallStatus.EVIDENCE_NEEDED
    if automated is AutomatedResult.EXCEPTED:
        return OverallStatus.EXCEPTED
    if automated is AutomatedResult.NOT_APPLICABLE and automation is Automation.AUTOMATED:
        return OverallStatus.NOT_APPLICABLE
    return OverallStatus.MET
