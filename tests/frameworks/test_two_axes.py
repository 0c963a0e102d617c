"""The two axes and the overall status: the rule table, and customer evidence items as of the evaluation
(approved, submitted, expired, rejected, superseded, approved later), the HIPAA addressable alternative, the
expiring list and the summary counts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from evidence.customer.types import CustomerEvidence, CustomerItem, ItemKind, RiskException
from frameworks.evaluate import evaluate_framework
from frameworks.loader import load_catalogs
from frameworks.overall import overall_status
from frameworks.results import (
    AutomatedResult,
    Automation,
    ControlResult,
    EvidenceState,
    FrameworkStatus,
    OverallStatus,
)
from frameworks.schema import Catalog
from tests.frameworks.customer import REVIEWED_AT, item, risk_exception
from tests.frameworks.helpers import AS_OF, finding, mini_catalog, mini_catalog_data, usage

AUTO, PART, MAN = Automation.AUTOMATED, Automation.PARTIAL, Automation.MANUAL
R = AutomatedResult
E = EvidenceState
O = OverallStatus  # noqa: E741 - one letter keeps the table readable

# (automation, automated result, evidence state) -> overall status: the rules, written out by hand.
RULES: list[tuple[Automation, AutomatedResult, EvidenceState, OverallStatus]] = [
    # automated: met iff the automated result passes
    (AUTO, R.PASS, E.NOT_NEEDED, O.MET),
    (AUTO, R.FAIL, E.NOT_NEEDED, O.NOT_MET),
    (AUTO, R.EXCEPTED, E.NOT_NEEDED, O.EXCEPTED),
    (AUTO, R.INCOMPLETE, E.NOT_NEEDED, O.INCOMPLETE),
    (AUTO, R.NOT_APPLICABLE, E.NOT_NEEDED, O.NOT_APPLICABLE),
    # partial: met iff the automated result passes (or does not apply) and an approved, unexpired item supports it
    (PART, R.PASS, E.APPROVED, O.MET),
    (PART, R.PASS, E.NEEDED, O.EVIDENCE_NEEDED),
    (PART, R.PASS, E.SUBMITTED, O.EVIDENCE_NEEDED),
    (PART, R.PASS, E.EXPIRED, O.EVIDENCE_NEEDED),
    (PART, R.NOT_APPLICABLE, E.APPROVED, O.MET),
    (PART, R.NOT_APPLICABLE, E.NEEDED, O.EVIDENCE_NEEDED),
    (PART, R.FAIL, E.APPROVED, O.NOT_MET),
    (PART, R.FAIL, E.NEEDED, O.NOT_MET),
    (PART, R.INCOMPLETE, E.APPROVED, O.INCOMPLETE),
    (PART, R.INCOMPLETE, E.EXPIRED, O.INCOMPLETE),
    (PART, R.EXCEPTED, E.APPROVED, O.EXCEPTED),
    (PART, R.EXCEPTED, E.SUBMITTED, O.EVIDENCE_NEEDED),
    # manual: met iff an approved, unexpired item supports it
    (MAN, R.NONE, E.APPROVED, O.MET),
    (MAN, R.NONE, E.NEEDED, O.EVIDENCE_NEEDED),
    (MAN, R.NONE, E.SUBMITTED, O.EVIDENCE_NEEDED),
    (MAN, R.NONE, E.EXPIRED, O.EVIDENCE_NEEDED),
    (Automation.INHERITED, R.NONE, E.NOT_NEEDED, O.INHERITED),
]


@pytest.mark.parametrize(("automation", "automated", "evidence", "expected"), RULES)
def test_rule_table(
    automation: Automation, automated: AutomatedResult, evidence: EvidenceState, expected: OverallStatus
) -> None:
    assert overall_status(automation, automated, evidence) is expected
    # out of scope, nothing else matters
    assert overall_status(automation, automated, evidence, in_scope=False) is O.NOT_APPLICABLE


@pytest.mark.parametrize(
    ("automation", "automated", "evidence"),
    [
        (AUTO, R.FAIL, E.APPROVED),
        (PART, R.FAIL, E.APPROVED),
        (PART, R.INCOMPLETE, E.APPROVED),
        (MAN, R.NONE, E.APPROVED),
    ],
)
def test_an_attested_alternative_meets_an_addressable_specification(
    automation: Automation, automated: AutomatedResult, evidence: EvidenceState
) -> None:
    assert overall_status(automation, automated, evidence, alternative=True) is O.MET


def evaluate(
    findings: list[Any],
    items: tuple[CustomerItem, ...] = (),
    exceptions: tuple[RiskException, ...] = (),
    *,
    as_of: datetime = AS_OF,
    catalog: Catalog | None = None,
) -> FrameworkStatus:
    return evaluate_framework(
        catalog or mini_catalog(),
        findings=findings,
        gaps=(),
        usage=usage("s3"),
        runs=(),
        as_of=as_of,
        freshness_hours=48,
        customer=CustomerEvidence(items=items, exceptions=exceptions),
    )


def control(status: FrameworkStatus, control_id: str) -> ControlResult:
    return next(c for c in status.controls if c.control_id == control_id)


ROOT_OK = finding("iam.root_mfa_enabled", resource="root")
S3_OK = finding("s3.default_encryption", resource="b1")


def test_an_approved_item_meets_a_manual_control_and_is_named() -> None:
    m = control(evaluate([], (item(3, "mini:M"),)), "M")
    assert (m.status, m.automated, m.evidence) == (O.MET, R.NONE, E.APPROVED)
    assert m.evidence_items == (3,) and "item(s) 3" in m.status_reason


def test_a_partial_control_is_met_by_passing_checks_and_approved_evidence() -> None:
    p = control(evaluate([ROOT_OK], (item(4, "mini:P"),)), "P")
    assert (p.status, p.automated, p.evidence, p.evidence_items) == (O.MET, R.PASS, E.APPROVED, (4,))
    failing = control(evaluate([finding("iam.root_mfa_enabled", "fail")], (item(4, "mini:P"),)), "P")
    assert (failing.status, failing.automated) == (O.NOT_MET, R.FAIL)  # evidence never outweighs a failing check


def test_an_expired_item_leaves_the_control_needing_evidence() -> None:
    lapsed = item(5, "mini:M", valid_until=AS_OF - timedelta(days=1))
    m = control(evaluate([], (lapsed,)), "M")
    assert (m.status, m.evidence) == (O.EVIDENCE_NEEDED, E.EXPIRED)
    assert m.evidence_expired == (5,) and m.evidence_items == ()
    assert "expired: 5 on" in m.status_reason
    # the same item, as of a day before it lapsed, meets the control
    earlier = control(evaluate([], (lapsed,), as_of=AS_OF - timedelta(days=2)), "M")
    assert (earlier.status, earlier.evidence) == (O.MET, E.APPROVED)


@pytest.mark.parametrize(
    ("history", "state", "submitted"),
    [
        ((), E.SUBMITTED, (6,)),  # awaiting review
        ((("rejected", REVIEWED_AT),), E.NEEDED, ()),
        ((("retracted", REVIEWED_AT),), E.NEEDED, ()),
        ((("approved", REVIEWED_AT), ("retracted", REVIEWED_AT + timedelta(days=1))), E.NEEDED, ()),
    ],
)
def test_only_approved_items_count(history: Any, state: EvidenceState, submitted: tuple[int, ...]) -> None:
    m = control(evaluate([], (item(6, "mini:M", history=history),)), "M")
    assert (m.status, m.evidence, m.evidence_submitted) == (O.EVIDENCE_NEEDED, state, submitted)


def test_the_states_as_of_the_evaluation_moment_count() -> None:
    approved_later = item(7, "mini:M", history=(("approved", AS_OF + timedelta(days=1)),))
    m = control(evaluate([], (approved_later,)), "M")
    assert (m.status, m.evidence, m.evidence_submitted) == (O.EVIDENCE_NEEDED, E.SUBMITTED, (7,))
    later = control(evaluate([], (approved_later,), as_of=AS_OF + timedelta(days=2)), "M")
    assert later.status is O.MET


def test_an_item_for_another_framework_or_control_does_not_count() -> None:
    m = control(evaluate([], (item(8, "hipaa:M", "mini:P"),)), "M")
    assert (m.status, m.evidence_items) == (O.EVIDENCE_NEEDED, ())


def test_supersede_keeps_the_control_met_while_the_new_version_waits() -> None:
    old = item(1, "mini:M", superseded_by=2)
    new = item(2, "mini:M", history=(), submitted_at=AS_OF - timedelta(days=1), supersedes=1)
    m = control(evaluate([], (old, new)), "M")
    assert (m.status, m.evidence_items, m.evidence_submitted) == (O.MET, (1,), (2,))
    # approving the new version retracts the old one ("superseded by item 2"): still met, now on the new one
    approved_at = AS_OF - timedelta(hours=12)
    old_retracted = item(1, "mini:M", superseded_by=2, history=(("approved", REVIEWED_AT), ("retracted", approved_at)))
    new_approved = item(
        2, "mini:M", history=(("approved", approved_at),), submitted_at=AS_OF - timedelta(days=1), supersedes=1
    )
    m = control(evaluate([], (old_retracted, new_approved)), "M")
    assert (m.status, m.evidence_items, m.evidence_submitted) == (O.MET, (2,), ())


def _addressable_catalog() -> Catalog:
    data = mini_catalog_data()
    next(c for c in data["controls"] if c["id"] == "A")["requirement_type"] = "addressable"
    return Catalog.model_validate(data)


def test_hipaa_addressable_specification_met_by_an_attested_alternative() -> None:
    failing = [finding("s3.default_encryption", "fail")]
    attestation = item(9, "mini:A", kind=ItemKind.ATTESTATION)
    a = control(evaluate(failing, (attestation,), catalog=_addressable_catalog()), "A")
    assert (a.status, a.automated, a.evidence, a.evidence_items) == (O.MET, R.FAIL, E.APPROVED, (9,))
    assert "attested alternative" in a.status_reason and "1 resource failing" in a.status_reason
    # a document is not an attestation of an alternative; a required specification has no alternative
    document = item(9, "mini:A", kind=ItemKind.DOCUMENT)
    assert control(evaluate(failing, (document,), catalog=_addressable_catalog()), "A").status is O.NOT_MET
    assert control(evaluate(failing, (attestation,)), "A").status is O.NOT_MET
    # an attestation awaiting review does not meet it either
    pending = item(9, "mini:A", kind=ItemKind.ATTESTATION, history=())
    assert control(evaluate(failing, (pending,), catalog=_addressable_catalog()), "A").status is O.NOT_MET


def test_hipaa_catalog_encryption_at_rest_accepts_a_documented_alternative() -> None:
    hipaa = load_catalogs().get("hipaa")
    spec = "164.312(a)(2)(iv)"
    failing = [finding("s3.default_encryption", "fail")]
    attestation = item(10, f"hipaa:{spec}", kind=ItemKind.ATTESTATION)
    without = control(evaluate(failing, catalog=hipaa), spec)
    with_alternative = control(evaluate(failing, (attestation,), catalog=hipaa), spec)
    assert without.status is O.NOT_MET and with_alternative.status is O.MET
    assert with_alternative.requirement_type == "addressable"


def test_headings_roll_up_both_axes_and_the_overall_status() -> None:
    items = (item(1, "mini:M"), item(2, "mini:P", valid_until=AS_OF - timedelta(days=1)))
    h = control(evaluate([S3_OK, ROOT_OK], items), "H")
    assert (h.status, h.automated, h.evidence) == (O.EVIDENCE_NEEDED, R.PASS, E.EXPIRED)
    h = control(evaluate([S3_OK, ROOT_OK], (item(1, "mini:M", "mini:P"),)), "H")
    assert (h.status, h.evidence) == (O.MET, E.APPROVED)


def test_summary_counts_by_overall_status() -> None:
    status = evaluate([S3_OK, ROOT_OK], (item(1, "mini:M", "mini:P"),))
    assert status.by_status == {
        "met": 3,  # A (checks), P (checks and item 1), M (item 1)
        "not_met": 0,
        "excepted": 0,
        "evidence_needed": 0,
        "incomplete": 0,
        "inherited": 1,
        "not_applicable": 1,
    }


def test_items_and_exceptions_expiring_within_30_days_are_listed() -> None:
    items = (
        item(1, "mini:M", valid_until=AS_OF + timedelta(days=10)),
        item(2, "mini:P", valid_until=AS_OF + timedelta(days=40)),
        item(3, "hipaa:M", valid_until=AS_OF + timedelta(days=5)),  # another framework's control
        item(4, "mini:M", valid_until=AS_OF + timedelta(days=3), history=()),  # not approved: nothing to lapse
    )
    exceptions = (
        risk_exception(1, check_id="s3.default_encryption", expires_at=AS_OF + timedelta(days=20)),
        risk_exception(2, control="mini:A", expires_at=AS_OF + timedelta(days=45)),
        risk_exception(3, check_id="guardduty.enabled", history=(), expires_at=AS_OF + timedelta(days=2)),
    )
    status = evaluate([], items, exceptions)
    assert [(ref.id, ref.controls) for ref in status.expiring_items] == [(1, ("M",))]
    assert [(ref.id, ref.controls) for ref in status.expiring_exceptions] == [(1, ("A",))]
    assert status.expiring_exceptions[0].title == "s3.default_encryption"
