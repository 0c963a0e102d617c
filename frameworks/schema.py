"""The one catalog schema for every framework (HIPAA, PCI DSS, SOC 2 and user catalogs).

A catalog is YAML data validated by these models. Cross-field rules say what each automation level needs:
automated and partial controls name checks; manual and partial controls say what the customer must supply
(`guidance`); inherited and shared controls name the AWS attestation covering AWS's part (`aws_evidence`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from evidence.checks.types import RESPONSIBILITY_KEYS
from frameworks.results import Automation, Responsibility

# The AWS attestations the packaged catalogs cite, named the same way in every catalog so reports can group
# them (user catalogs may cite others).
KNOWN_AWS_ATTESTATIONS: tuple[str, ...] = (
    "AWS SOC 2 Type II report",
    "AWS PCI DSS Attestation of Compliance",
    "AWS PCI DSS Responsibility Summary",
    "AWS Business Associate Addendum (BAA)",
    "AWS HIPAA Eligible Services list",
    "AWS ISO/IEC 27001 certificate",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckRef(_Strict):
    id: str = Field(min_length=1)
    relevance: str = Field(min_length=1, description="Why this check is evidence for the control.")


class AwsEvidenceRef(_Strict):
    name: str = Field(min_length=1, description="e.g. 'AWS SOC 2 Type II report'")
    covers: str = Field(min_length=1, description="What of the control AWS's attestation covers.")
    source: str = "AWS Artifact"


class Family(_Strict):
    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    description: str = ""


class Scope(_Strict):
    """An optional part of a framework (a SOC 2 category, a PCI DSS appendix) that configuration turns on."""

    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    description: str = ""
    always: bool = False  # cannot be turned off (SOC 2 Security)
    default: bool = False  # in scope unless configured otherwise


class CoverageMeasure(_Strict):
    """What a catalog's headline coverage figure counts (`auditpack frameworks coverage`): the requirements of
    some families only, e.g. HIPAA's implementation specifications in 164.308-164.312 (164.314 and 164.316 are
    contracts and documents no check can show). Without it, every requirement of the catalog counts."""

    counts: str = Field(min_length=1, description="e.g. 'implementation specifications in 164.308-164.312'")
    families: list[str] | None = Field(default=None, min_length=1)  # None: every family


class Control(_Strict):
    id: str = Field(min_length=1)
    family: str = Field(min_length=1)
    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    automation: Automation | None = None  # required unless `heading`
    responsibility: dict[str, Responsibility]
    checks: list[CheckRef] = Field(default_factory=list)
    aws_evidence: list[AwsEvidenceRef] = Field(default_factory=list)
    guidance: str | None = None
    # What an auditor expects to see from the customer, e.g. "incident response plan, reviewed in the last 12
    # months": shown wherever the control asks for evidence (status, packet, API).
    expected_evidence: str | None = Field(default=None, min_length=1)
    # An inherited control's optional customer statement, e.g. that no facility of the customer's holds in-scope
    # systems: AWS's attestation still covers the control, the statement (an attestation item naming the
    # control) closes the question of the customer's own facilities. Never needed; shown when supplied.
    customer_attestation: str | None = Field(default=None, min_length=1)
    requirement_type: Literal["required", "addressable"] | None = None
    parent: str | None = None  # the section or standard this control belongs to
    level: int | None = None  # depth in the framework's numbering (PCI DSS: 0 section, 1 defined requirement, ...)
    scope: str | None = None  # applies only when this scope is selected
    # A section or standard that groups child controls (PCI DSS level-0 sections, HIPAA standards that have
    # implementation specifications): its automation and status roll up from its children.
    heading: bool = False

    @field_validator("responsibility")
    @classmethod
    def _services(cls, value: dict[str, Responsibility]) -> dict[str, Responsibility]:
        if "default" not in value:
            raise ValueError("needs a 'default' entry")
        unknown = set(value) - {"default", *RESPONSIBILITY_KEYS}
        if unknown:
            raise ValueError(
                f"unknown service type(s) {sorted(unknown)}; use default or {', '.join(RESPONSIBILITY_KEYS)}"
            )
        return value

    @model_validator(mode="after")
    def _automation_needs(self) -> Control:
        if self.heading:
            if self.checks:
                raise ValueError("checks: a heading's checks belong to its child controls")
            if self.expected_evidence:
                raise ValueError("expected_evidence: a heading's evidence belongs to its child controls")
            if self.customer_attestation:
                raise ValueError("customer_attestation: a heading's evidence belongs to its child controls")
            return self
        if self.automation is None:
            raise ValueError("automation: required (automated, partial, manual or inherited)")
        if self.automation in (Automation.AUTOMATED, Automation.PARTIAL) and not self.checks:
            raise ValueError(f"checks: an {self.automation.value} control must name at least one check")
        if self.automation in (Automation.MANUAL, Automation.PARTIAL) and not self.guidance:
            raise ValueError(f"guidance: a {self.automation.value} control must say what evidence to supply")
        if self.automation is Automation.INHERITED:
            if any(r is not Responsibility.AWS for r in self.responsibility.values()):
                raise ValueError("responsibility: an inherited control is aws for every service")
            if self.checks:
                raise ValueError("checks: an inherited control is covered by AWS attestations, not our checks")
            if self.expected_evidence:
                raise ValueError("expected_evidence: an inherited control is covered by AWS attestations")
        elif self.customer_attestation:
            raise ValueError(
                "customer_attestation: only an inherited control takes an optional statement; "
                "a control the customer must evidence says so in guidance and expected_evidence"
            )
        shared = any(r is not Responsibility.CUSTOMER for r in self.responsibility.values())
        if shared and not self.aws_evidence:
            raise ValueError("aws_evidence: an inherited or shared control must name the AWS attestation")
        return self

    def responsibility_for(self, service: str) -> Responsibility:
        """The entry for `service`; a container service's hosting ("ecs-fargate") falls back to the service's
        own entry ("ecs"), and everything to `default`."""
        if service in self.responsibility:
            return self.responsibility[service]
        base = service.split("-", 1)[0]
        return self.responsibility.get(base, self.responsibility["default"])


class Catalog(_Strict):
    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    publisher: str = Field(min_length=1)
    description: str = ""
    families: list[Family]
    scopes: list[Scope] = Field(default_factory=list)
    coverage: CoverageMeasure | None = None
    # How AWS's part is described in this framework's terms (SOC 2: a carved-out subservice organisation and its
    # complementary subservice organisation controls); packets print it where they describe AWS's role.
    aws_role: str | None = Field(default=None, min_length=1)
    controls: list[Control]

    @model_validator(mode="after")
    def _references(self) -> Catalog:
        families = {family.id for family in self.families}
        scopes = {scope.id for scope in self.scopes}
        seen: set[str] = set()
        for control in self.controls:
            if control.id in seen:
                raise ValueError(f"control {control.id}: id: duplicate control id")
            seen.add(control.id)
            if control.family not in families:
                raise ValueError(f"control {control.id}: family: {control.family!r} is not a declared family")
            if control.scope is not None and control.scope not in scopes:
                raise ValueError(f"control {control.id}: scope: {control.scope!r} is not a declared scope")
        if self.coverage and self.coverage.families and (unknown := set(self.coverage.families) - families):
            raise ValueError(f"coverage: families {sorted(unknown)} are not declared families")
        for control in self.controls:
            if control.parent is not None and control.parent not in seen:
                raise ValueError(f"control {control.id}: parent: {control.parent!r} is not a control in this catalog")
        return self
