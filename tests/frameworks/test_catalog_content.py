"""What an auditor checks first in the catalogs: the responsibility model, AWS attestations cited the same way
everywhere and never as our checks, physical controls inherited, guidance where the customer must act, and
titles in our own words."""

from __future__ import annotations

import csv
from datetime import timedelta

import pytest

from evidence.checks.registry import check_ids
from evidence.customer.types import CustomerEvidence, CustomerItem, ItemKind
from frameworks.evaluate import evaluate_framework
from frameworks.loader import LoadedCatalog, load_catalogs
from frameworks.results import Automation, ControlResult, EvidenceState, OverallStatus, Responsibility
from frameworks.schema import KNOWN_AWS_ATTESTATIONS
from tests.frameworks.customer import item
from tests.frameworks.helpers import AS_OF, REFERENCE

FRAMEWORKS = ["hipaa", "pci-dss", "soc2"]


def _entry(framework_id: str) -> LoadedCatalog:
    return load_catalogs().entry(framework_id)


@pytest.mark.parametrize("framework_id", FRAMEWORKS)
def test_packaged_catalogs_cite_aws_attestations_by_their_shared_names(framework_id: str) -> None:
    catalog = _entry(framework_id).catalog
    names = {ref.name for control in catalog.controls for ref in control.aws_evidence}
    assert names <= set(KNOWN_AWS_ATTESTATIONS), sorted(names - set(KNOWN_AWS_ATTESTATIONS))
    for control in catalog.controls:
        for ref in control.aws_evidence:
            assert ref.source == "AWS Artifact"
            assert ref.name not in check_ids()  # an attestation is never one of our checks


@pytest.mark.parametrize("framework_id", FRAMEWORKS)
def test_every_requirement_says_who_does_what(framework_id: str) -> None:
    catalog = _entry(framework_id).catalog
    for control in catalog.controls:
        if control.heading:
            continue
        assert control.automation is not None
        if control.automation in (Automation.MANUAL, Automation.PARTIAL):
            assert control.guidance and len(control.guidance) > 20, control.id
        if any(value is not Responsibility.CUSTOMER for value in control.responsibility.values()):
            assert control.aws_evidence, control.id
        for ref in control.checks:
            assert len(ref.relevance) > 15, (control.id, ref.id)


def test_physical_safeguards_are_inherited_from_aws() -> None:
    hipaa = {c.id: c for c in _entry("hipaa").catalog.controls}
    for control_id in ("164.310(a)(2)(i)", "164.310(a)(2)(ii)", "164.310(a)(2)(iii)", "164.310(a)(2)(iv)"):
        control = hipaa[control_id]
        assert control.automation is Automation.INHERITED
        assert set(control.responsibility.values()) == {Responsibility.AWS}
        assert "AWS SOC 2 Type II report" in {ref.name for ref in control.aws_evidence}
    soc2 = {c.id: c for c in _entry("soc2").catalog.controls}
    assert soc2["CC6.4"].automation is Automation.INHERITED
    assert soc2["CC6.4"].responsibility_for("ec2") is Responsibility.AWS


def test_patching_responsibility_differs_by_service() -> None:
    """The brief's example: patching is customer on EC2, shared on RDS and Lambda, aws on S3."""
    cc71 = next(c for c in _entry("soc2").catalog.controls if c.id == "CC7.1")
    assert {s: cc71.responsibility_for(s).value for s in ("ec2", "rds", "lambda", "s3")} == {
        "ec2": "customer",
        "rds": "shared",
        "lambda": "shared",
        "s3": "aws",
    }
    assert "ssm.patch_compliant" in {ref.id for ref in cc71.checks}


def test_encryption_at_rest_reflects_what_aws_does_by_default() -> None:
    control = next(c for c in _entry("hipaa").catalog.controls if c.id == "164.312(a)(2)(iv)")
    assert control.responsibility_for("ec2") is Responsibility.CUSTOMER  # the customer must turn it on
    # S3 (SSE-S3 on every bucket since January 2023) and DynamoDB (always encrypted) are alike: AWS encrypts
    # by default, which key protects the data is the customer's choice
    assert control.responsibility_for("s3") is Responsibility.SHARED
    assert control.responsibility_for("dynamodb") is Responsibility.SHARED


@pytest.mark.parametrize("framework_id", FRAMEWORKS)
def test_s3_and_dynamodb_default_encryption_are_treated_alike(framework_id: str) -> None:
    encryption = {"s3.default_encryption", "rds.storage_encrypted", "ec2.ebs_volume_encrypted"}
    for control in _entry(framework_id).catalog.controls:
        if encryption & {ref.id for ref in control.checks}:
            assert control.responsibility_for("s3") is control.responsibility_for("dynamodb"), control.id


def test_hipaa_titles_are_our_own_words_not_the_rules_names() -> None:
    with (REFERENCE / "hipaa-security-rule.tsv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    names = {row["standard"].lower() for row in rows} | {row["implementation_spec"].lower() for row in rows}
    copied = [c.id for c in _entry("hipaa").catalog.controls if c.title.lower() in names]
    assert copied == []


@pytest.mark.parametrize("framework_id", FRAMEWORKS)
def test_descriptions_are_not_the_title_repeated(framework_id: str) -> None:
    for control in _entry(framework_id).catalog.controls:
        assert control.description.strip().lower() != control.title.strip().lower(), control.id


@pytest.mark.parametrize("framework_id", FRAMEWORKS)
def test_manual_and_partial_controls_say_what_evidence_an_auditor_expects(framework_id: str) -> None:
    catalog = _entry(framework_id).catalog
    described = [c for c in catalog.controls if c.expected_evidence]
    assert len(described) >= 15, framework_id
    for control in described:
        # only where the customer supplies evidence, and specific enough to act on
        assert control.automation in (Automation.MANUAL, Automation.PARTIAL), control.id
        assert len(control.expected_evidence or "") >= 40, control.id


def test_expected_evidence_is_refused_where_the_customer_supplies_none() -> None:
    from pydantic import ValidationError

    from frameworks.schema import Control

    inherited = {
        "id": "I",
        "family": "F",
        "title": "t",
        "description": "d",
        "automation": "inherited",
        "responsibility": {"default": "aws"},
        "aws_evidence": [{"name": "AWS SOC 2 Type II report", "covers": "all"}],
        "expected_evidence": "a policy",
    }
    with pytest.raises(ValidationError, match="expected_evidence: an inherited control"):
        Control.model_validate(inherited)
    heading = {"id": "H", "family": "F", "title": "t", "description": "d", "heading": True}
    with pytest.raises(ValidationError, match="expected_evidence: a heading"):
        Control.model_validate({**heading, "responsibility": {"default": "customer"}, "expected_evidence": "x"})


# -- physical controls: inherited, with an optional customer statement (issue 13) --------------------------------

PHYSICAL = {
    "hipaa": ("164.310(a)(2)(i)", "164.310(a)(2)(ii)", "164.310(a)(2)(iii)", "164.310(a)(2)(iv)"),
    "pci-dss": ("9.2.1", "9.2.1.1", "9.2.2", "9.2.3", "9.2.4", "9.3.1", "9.3.1.1", "9.3.2", "9.3.3", "9.3.4"),
    "soc2": ("CC6.4",),
}


@pytest.mark.parametrize("framework_id", sorted(PHYSICAL))
def test_physical_controls_may_carry_a_no_in_scope_facilities_statement(framework_id: str) -> None:
    controls = {c.id: c for c in _entry(framework_id).catalog.controls}
    for control_id in PHYSICAL[framework_id]:
        control = controls[control_id]
        assert control.automation is Automation.INHERITED, control_id
        assert control.customer_attestation and "No facility of ours" in control.customer_attestation, control_id
    # and only inherited controls carry one: anything the customer must evidence says so in guidance
    assert all(c.automation is Automation.INHERITED for c in controls.values() if c.customer_attestation)


def _physical_status(*items: CustomerItem) -> ControlResult:
    status = evaluate_framework(
        _entry("hipaa").catalog,
        findings=(),
        gaps=(),
        usage=None,
        runs=(),
        as_of=AS_OF,
        freshness_hours=48,
        customer=CustomerEvidence(items=items),
    )
    return next(c for c in status.controls if c.control_id == "164.310(a)(2)(ii)")


def test_a_no_facilities_attestation_shows_on_the_inherited_control_and_never_changes_its_status() -> None:
    spec = "hipaa:164.310(a)(2)(ii)"
    unattested = _physical_status()
    assert (unattested.status, unattested.evidence) == (OverallStatus.INHERITED, EvidenceState.NOT_NEEDED)
    assert "the customer may attest: No facility of ours" in unattested.status_reason
    attested = _physical_status(item(7, spec, kind=ItemKind.ATTESTATION))
    assert (attested.status, attested.evidence, attested.evidence_items) == (
        OverallStatus.INHERITED,
        EvidenceState.APPROVED,
        (7,),
    )
    assert "customer statement: approved evidence: item(s) 7" in attested.status_reason
    assert not attested.attestation_required  # optional: AWS's attestation covers the control either way
    lapsed = _physical_status(item(8, spec, kind=ItemKind.ATTESTATION, valid_until=AS_OF - timedelta(days=1)))
    assert (lapsed.status, lapsed.evidence, lapsed.evidence_expired) == (
        OverallStatus.INHERITED,
        EvidenceState.EXPIRED,
        (8,),
    )


def test_a_customer_statement_is_refused_where_the_customer_must_evidence_the_control() -> None:
    from pydantic import ValidationError

    from frameworks.schema import Control

    manual = {
        "id": "M",
        "family": "F",
        "title": "t",
        "description": "d",
        "automation": "manual",
        "responsibility": {"default": "customer"},
        "guidance": "supply the policy",
        "customer_attestation": "no facilities",
    }
    with pytest.raises(ValidationError, match="customer_attestation: only an inherited control"):
        Control.model_validate(manual)


# -- AWS's role in each framework's terms ---------------------------------------------------------------------------


def test_soc2_describes_aws_as_a_carved_out_subservice_organisation() -> None:
    soc2 = _entry("soc2").catalog
    role = " ".join((soc2.aws_role or "").split())
    assert "subservice organisation" in role and "carve-out method" in role
    assert "complementary subservice organisation controls (CSOCs)" in role
    assert "complementary user entity controls" in role  # what AWS's report expects of its customers
    cc92 = next(c for c in soc2.controls if c.id == "CC9.2")
    assert "CSOCs" in " ".join((cc92.guidance or "").split())
    assert "Business Associate Addendum" in (_entry("hipaa").catalog.aws_role or "")
    assert "third-party service provider" in (_entry("pci-dss").catalog.aws_role or "")
