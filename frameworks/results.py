"""What evaluating a framework produces: the contract between `frameworks` (which computes it) and `reports`
and `api` (which render and serve it). Frozen dataclasses; extend with new fields, do not rename."""

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


class ControlStatus(enum.StrEnum):
    PASS = "pass"  # noqa: S105 - every finding passes
    FAIL = "fail"  # any finding fails
    PARTIAL_EVIDENCE = "partial-evidence"  # some needed evidence is a gap, an error or stale: never a pass
    MANUAL = "manual"  # needs attested evidence the customer supplies
    INHERITED = "inherited"  # AWS's part, see aws_evidence
    NOT_APPLICABLE = "not_applicable"  # no resource of the relevant services in scope, or out of scope by config


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
    # What this check alone says about the control: pass, fail, partial-evidence (error, gap, stale or missing
    # findings) or not_applicable (no resource of its service type in scope).
    status: ControlStatus = ControlStatus.PARTIAL_EVIDENCE
    service_type: str | None = None  # the service type it inspects; None for account-wide checks (IAM, CloudTrail)
    missing: bool = False  # the check applies but produced no finding at all: missing evidence, never a pass
    gaps: tuple[GapRef, ...] = ()  # run gaps in the service this check reads


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
    status: ControlStatus
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
    # The verdict of the checks alone. For a partial control whose checks pass this is `pass` while `status`
    # stays `manual`, because the rest of the control still needs attested evidence.
    checks_status: ControlStatus | None = None
    attestation_required: bool = False  # manual and partial controls: the customer must supply evidence
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
    # Counts over requirements (every control that is not a heading), so each requirement counts once.
    by_status: dict[str, int] = field(default_factory=dict)
    by_responsibility: dict[str, int] = field(default_factory=dict)  # by each requirement's overall responsibility
    scopes: frozenset[str] = frozenset()  # the catalog scopes selected for this evaluation
    warnings: tuple[str, ...] = ()  # e.g. no usable run at or before as_of
    # For a period (from..to): every usable run sealed in it, oldest first; the status rests on the newest.
    period_runs: tuple[RunRef, ...] = ()
    accounts: tuple[str, ...] = ()  # the account scope evaluated (empty: every account of the run)
