"""Control status changes between two evaluations say why they moved (an exception or an evidence item that
expired in between, the checks' verdict), and the customer's evidence changes between two moments are listed
with who made them: exceptions created, approved and expired, items approved and expired."""

from __future__ import annotations

from datetime import datetime, timedelta

from evidence.customer.types import CustomerEvidence
from frameworks.drift import control_changes, customer_changes
from frameworks.evaluate import evaluate_framework
from frameworks.results import FrameworkStatus, OverallStatus, RunRef
from tests.frameworks.customer import item, risk_exception
from tests.frameworks.helpers import AS_OF, finding, mini_catalog, usage

T1 = AS_OF - timedelta(days=10)
T2 = AS_OF


def _status(at: datetime, customer: CustomerEvidence, root_mfa: str) -> FrameworkStatus:
    """The mini catalog as of `at`: one bucket failing encryption throughout, the root MFA check as given."""
    observed = at - timedelta(hours=1)
    findings = [
        finding("s3.default_encryption", "fail", resource="b1", observed_at=observed),
        finding("rds.storage_encrypted", "pass", observed_at=observed),
        finding("iam.root_mfa_enabled", root_mfa, observed_at=observed),
    ]
    run = RunRef(id=1, status="complete", started_at=at - timedelta(hours=2), finished_at=at, digest="d" * 64)
    return evaluate_framework(
        mini_catalog(),
        findings=findings,
        gaps=(),
        usage=usage("s3", "rds"),
        runs=(run,),
        as_of=at,
        freshness_hours=48,
        customer=customer,
    )


def test_control_changes_name_what_lapsed_between_the_two_evaluations() -> None:
    customer = CustomerEvidence(
        items=(item(3, "mini:M", valid_until=T1 + timedelta(days=3)), item(4, "mini:P")),
        exceptions=(risk_exception(7, check_id="s3.default_encryption", expires_at=T1 + timedelta(days=5)),),
    )
    before = _status(T1, customer, "fail")
    after = _status(T2, customer, "pass")
    assert {c.control_id: c.status for c in before.controls if c.control_id in "AMP"} == {
        "A": OverallStatus.EXCEPTED,
        "M": OverallStatus.MET,
        "P": OverallStatus.NOT_MET,
    }
    changes = {c.control_id: c for c in control_changes(before, after, customer)}
    assert {k: (c.before, c.after) for k, c in changes.items()} == {
        "A": (OverallStatus.EXCEPTED, OverallStatus.NOT_MET),
        "M": (OverallStatus.MET, OverallStatus.EVIDENCE_NEEDED),
        "P": (OverallStatus.NOT_MET, OverallStatus.MET),
    }
    assert changes["A"].causes == (
        "checks: excepted -> fail (1 resource(s) failing)",
        f"exception 7 expired at {(T1 + timedelta(days=5)).strftime('%Y-%m-%dT%H:%M:%SZ')}",
    )
    assert "evidence item 3 expired at" in changes["M"].causes[-1]
    assert changes["P"].causes == ("checks: fail -> pass (0 resource(s) failing)",)
    assert changes["A"].reason == next(c for c in after.controls if c.control_id == "A").status_reason


def test_customer_changes_between_two_moments() -> None:
    customer = CustomerEvidence(
        items=(
            item(3, "mini:M", valid_until=T1 + timedelta(days=3)),
            item(5, "mini:M", submitted_at=T1 + timedelta(days=1), history=(("approved", T1 + timedelta(days=4)),)),
            item(6, "other:X", valid_until=T1 + timedelta(days=3)),  # another framework's control
            item(8, "mini:M", valid_until=T1 + timedelta(days=3), history=(("retracted", T1 - timedelta(days=1)),)),
        ),
        exceptions=(
            risk_exception(7, check_id="s3.default_encryption", expires_at=T1 + timedelta(days=5)),
            risk_exception(9, control="mini:A", history=(("approved", T1 + timedelta(days=2)),)),
            risk_exception(10, check_id="guardduty.enabled", expires_at=T2 + timedelta(days=1)),
        ),
    )
    found = [(c.kind, c.id, c.event, c.actor) for c in customer_changes(mini_catalog(), customer, since=T1, until=T2)]
    assert found == [
        ("item", 5, "created", "alice@example.com"),
        ("exception", 9, "approved", "bob@example.com"),
        ("item", 3, "expired", None),  # approved until it lapsed; item 8 was retracted before: no expiry
        ("item", 5, "approved", "bob@example.com"),
        ("exception", 7, "expired", None),
    ]
    created = customer_changes(mini_catalog(), customer, since=T1 - timedelta(days=60), until=T1)
    assert ("exception", 9, "created") in [(c.kind, c.id, c.event) for c in created]
    assert next(c.controls for c in created if c.kind == "exception" and c.id == 7) == ("A",)
