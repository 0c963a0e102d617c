"""What evaluating a framework produces: the contract between `frameworks` (which computes it) and `reports`,
`api` and `ui` (which render and serve it). Frozen dataclasses; extend with new fields, do not rename.

Control status has two axes and one overall status (issue 12; the rules live in `frameworks.overall` alone):
- `ControlResult.automated` (`AutomatedResult`): what the checks say, after exceptions are applied to findings;
- `ControlResult.evidence` (`EvidenceState`): what the customer's evidence items say, as of the evaluation;
- `ControlResult.status` (`OverallStatus`): the one status every renderer shows and every summary counts.
`status` used to hold the checks' verdict (`ControlStatus`: pass, fail, partial-evidence, manual, ...). It now
holds the overall status; the checks' verdict moved to `automated`, and `ControlStatus` and `checks_status` are
gone, so code still on the old semantics fails loudly instead of misreading `met` as `pass`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from evidence.checks.types import Finding, Remediation, Severity


class Responsibility(enum.StrEnum):
    AWS = "aws"  # AWS-inherited: AWS operates and attests it
    SHARED = "shared"  # AWS does part, the customer the rest
    CUSTOMER = "customer"  # the customer's alone


class Automation(enum.StrEnum):
    AUTOMATED = "automated"  # checks decide it
    PARTIAL = "partial"  # checks cover part; the rest needs attested evidence
    MANUAL = "manual"  # needs uploaded or attested evidence (e.g. a policy document)
    INHERITED = "inherited"  # AWS's responsibility, covered by an AWS attestation


class AutomatedResult(enum.StrEnum):
    """The automated axis: what a control's checks (or one check) say, after exceptions."""

    PASS = "pass"  # noqa: S105 - every applicable finding passes
    FAIL = "fail"  # a failing finding no active exception covers
    EXCEPTED = "excepted"  # no unexcepted failure, and an approved, unexpired exception covers at least one
    INCOMPLETE = "incomplete"  # some needed evidence is a gap, an error, stale or missing: never a pass
    NOT_APPLICABLE = "not_applicable"  # no resource the checks inspect is in scope, or the control is out of scope
    NONE = "none"  # the control has no automated part (manual, inherited)


class EvidenceState(enum.StrEnum):
    """The customer evidence axis: the items that support a control, as of the evaluation."""

    NOT_NEEDED = "not_needed"  # automated or inherited control, or out of scope
    NEEDED = "needed"  # no item supports it
    SUBMITTED = "submitted"  # an item awaits review; none is approved and unexpired
    APPROVED = "approved"  # at least one approved, unexpired item supports it
    EXPIRED = "expired"  # the only approved items have passed their valid_until


class OverallStatus(enum.StrEnum):
    """The one status of a control (see `frameworks.overall` for the rules)."""

    MET = "met"
    NOT_MET = "not_met"  # an automated check fails
    EXCEPTED = "excepted"  # would fail, but every failure is covered by an approved, unexpired exception
    EVIDENCE_NEEDED = "evidence_needed"  # the customer's evidence is missing, awaiting review or expired
    INCOMPLETE = "incomplete"  # the automated evidence is incomplete (gap, error, stale, missing): never met
    INHERITED = "inherited"  # AWS's part, see aws_evidence
    NOT_APPLICABLE = "not_applicable"  # no resource of the relevant services in scope, or out of scope by config


@dataclass(frozen=True, slots=True)
class ExceptedFinding:
    """A failing finding an approved, unexpired exception covers: it keeps its evidence (and its `fail` status,
    which is what the check said); `reason` names the exception."""

    finding: Finding
    exception_id: int
    expires_at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class ExpiringRef:
    """An approved item or exception that expires within the look-ahead window after as_of (30 days)."""

    kind: str  # "item" | "exception"
    id: int
    title: str  # the item's title; for an exception, its scope
    expires_at: datetime  # valid_until (item) or expires_at (exception)
    controls: tuple[str, ...]  # ids of this framework's controls it bears on


@dataclass(frozen=True, slots=True)
class AwsAttestation:
    """An AWS report that covers AWS's part of a control: obtained from AWS Artifact, never a check we ran."""

    name: str  # e.g. "AWS SOC 2 Type II report"
    covers: str  # what of the control it covers
    source: str = "AWS Artifact"


@dataclass(frozen=True, slots=True)
class GapRef:
    """Evidence that could not be read (from the run's gaps), as it bears on a check or a control."""

    account_id: str
    region: str
    service: str
    operation: str
    error_code: str
    message: str
    kind: str | None = None
    resource_id: str | None = None


@dataclass(frozen=True, slots=True)
class CheckVerdict:
    """One check's findings as they bear on one control."""

    check_id: str
    title: str
    severity: Severity
    relevance: str  # why this check is evidence for this control (from the catalog)
    passed: int
    failed: int
    errors: int  # evidence missing (gap) or unreadable
    not_applicable: int
    stale: int  # findings resting on evidence older than the freshness window
    failing: tuple[Finding, ...]  # every failing finding; reports bound how many they print
    errored: tuple[Finding, ...]
    remediation: Remediation
    # What this check alone says about the control: pass, fail, excepted, incomplete (error, gap, stale or missing
    # findings) or not_applicable (no resource of its service type in scope).
    status: AutomatedResult = AutomatedResult.INCOMPLETE
    service_type: str | None = None  # the service type it inspects; None for account-wide checks (IAM, CloudTrail)
    missing: bool = False  # the check applies but produced no finding at all: missing evidence, never a pass
    gaps: tuple[GapRef, ...] = ()  # run gaps in the service this check reads
    excepted: tuple[ExceptedFinding, ...] = ()  # failing findings an active exception covers (not in `failing`)


@dataclass(frozen=True, slots=True)
class ControlResult:
    control_id: str  # exact framework id, e.g. "164.312(a)(2)(iv)", "8.4.2", "CC6.1"
    title: str
    description: str
    family_id: str  # e.g. "164.312", "8", "CC6"
    family_title: str
    automation: Automation
    responsibility: dict[str, Responsibility]  # per service type *in use*
    overall_responsibility: Responsibility
    status: OverallStatus  # the overall status (both axes combined by frameworks.overall)
    status_reason: str  # one sentence: why this status
    checks: tuple[CheckVerdict, ...]
    passed: int  # resources passing across the control's checks
    failed: int
    guidance: str | None  # what evidence the customer must supply (manual and partial controls)
    aws_evidence: tuple[AwsAttestation, ...]  # inherited and shared controls
    requirement_type: str | None = None  # HIPAA: "required" | "addressable"; otherwise None
    heading: bool = False  # a section/standard whose status, automation and responsibility roll up from children
    parent_id: str | None = None
    level: int | None = None
    children: tuple[str, ...] = ()  # direct child control ids (headings and parents of deeper requirements)
    scope: str | None = None  # the optional scope this control belongs to (own or inherited from its parent)
    in_scope: bool = True  # False when its scope is not selected (status is then not_applicable)
    # The automated axis (the checks' verdict after exceptions): `none` for manual and inherited controls.
    automated: AutomatedResult = AutomatedResult.NONE
    # The customer evidence axis, and the items behind it (ids of customer evidence items, as of the evaluation).
    evidence: EvidenceState = EvidenceState.NOT_NEEDED
    evidence_items: tuple[int, ...] = ()  # approved, unexpired items supporting it: what `met` rests on
    evidence_submitted: tuple[int, ...] = ()  # submitted, awaiting review
    evidence_expired: tuple[int, ...] = ()  # approved once, past valid_until
    exceptions: tuple[int, ...] = ()  # ids of the exceptions that excepted at least one of its failing findings
    excepted: int = 0  # resources whose every failure is excepted (counted in neither passed nor failed)
    expected_evidence: str | None = None  # what an auditor expects to see (catalog), shown where evidence is asked
    attestation_required: bool = False  # manual and partial controls: the customer must supply evidence
    # An inherited control's optional customer statement (catalog), e.g. "no in-scope facilities"; the items
    # attesting it are in evidence_items / evidence_submitted / evidence_expired.
    customer_attestation: str | None = None
    gaps: tuple[GapRef, ...] = ()  # run gaps bearing on this control's checks
    stale: int = 0  # findings resting on evidence older than the freshness window


@dataclass(frozen=True, slots=True)
class RunRef:
    """An evidence run a status rests on, with its chain digest."""

    id: int
    status: str
    started_at: datetime
    finished_at: datetime | None
    digest: str | None


@dataclass(frozen=True, slots=True)
class ResponsibilityMatrix:
    """Services in use x control families: who is responsible (aws/shared/customer) in each cell."""

    services: tuple[str, ...]
    families: tuple[tuple[str, str], ...]  # (family id, family title)
    cells: dict[tuple[str, str], Responsibility]  # (family id, service) -> responsibility
    # (family id, service) -> how many of the family's requirements are aws / shared / customer for that service;
    # a cell is aws or customer only when every requirement agrees, otherwise shared.
    counts: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FrameworkStatus:
    framework_id: str  # "hipaa" | "pci-dss" | "soc2" | a custom catalog's id
    name: str
    version: str
    as_of: datetime
    runs: tuple[RunRef, ...]  # the runs the evidence comes from (empty: no usable run)
    services_in_use: frozenset[str]
    controls: tuple[ControlResult, ...]
    matrix: ResponsibilityMatrix
    gap_count: int
    stale_count: int
    freshness_hours: int
    # Counts over requirements (every control that is not a heading), so each requirement counts once; keyed by
    # every OverallStatus value.
    by_status: dict[str, int] = field(default_factory=dict)
    by_responsibility: dict[str, int] = field(default_factory=dict)  # by each requirement's overall responsibility
    scopes: frozenset[str] = frozenset()  # the catalog scopes selected for this evaluation
    warnings: tuple[str, ...] = ()  # e.g. no usable run at or before as_of
    # For a period (from..to): every usable run sealed in it, oldest first; the status rests on the newest.
    period_runs: tuple[RunRef, ...] = ()
    accounts: tuple[str, ...] = ()  # the account scope evaluated (empty: every account of the run)
    # Approved items and exceptions bearing on this framework that expire within 30 days after as_of.
    expiring_items: tuple[ExpiringRef, ...] = ()
    expiring_exceptions: tuple[ExpiringRef, ...] = ()
    aws_role: str | None = None  # how AWS's part is described in this framework's terms (the catalog's aws_role)
