"""Responsibility shown for the services in use only, overall per control, and the matrix of services x families."""

from __future__ import annotations

from datetime import timedelta

from frameworks.evaluate import evaluate_framework
from frameworks.loader import load_catalogs
from frameworks.results import Responsibility, RunRef
from tests.frameworks.helpers import AS_OF, mini_catalog, usage

RUN = RunRef(
    id=1, status="complete", started_at=AS_OF - timedelta(hours=2), finished_at=AS_OF - timedelta(hours=1), digest=None
)


def _status(*services: str, catalog=None):  # type: ignore[no-untyped-def]
    return evaluate_framework(
        catalog or mini_catalog(),
        findings=(),
        gaps=(),
        usage=usage(*services),
        runs=(RUN,),
        as_of=AS_OF,
        freshness_hours=48,
    )


def test_per_service_responsibility_only_for_services_in_use() -> None:
    a = next(c for c in _status("s3", "lambda").controls if c.control_id == "A")
    assert a.responsibility == {"lambda": Responsibility.CUSTOMER, "s3": Responsibility.SHARED}
    assert a.overall_responsibility is Responsibility.SHARED  # customer on one service, shared on another
    only_rds = next(c for c in _status("rds").controls if c.control_id == "A")
    assert only_rds.responsibility == {"rds": Responsibility.CUSTOMER}
    assert only_rds.overall_responsibility is Responsibility.CUSTOMER
    nothing = next(c for c in _status().controls if c.control_id == "A")
    assert nothing.responsibility == {} and nothing.overall_responsibility is Responsibility.CUSTOMER  # the default


def test_matrix_is_services_in_use_by_families_in_scope() -> None:
    matrix = _status("s3", "ec2").matrix
    assert matrix.services == ("ec2", "s3")  # canonical service order
    assert matrix.families == (("F1", "First"), ("F2", "Second"))  # F3 holds only out-of-scope controls
    assert matrix.cells[("F1", "ec2")] is Responsibility.CUSTOMER
    assert matrix.cells[("F1", "s3")] is Responsibility.SHARED  # A shared on S3, P and M customer
    assert matrix.counts[("F1", "s3")] == {"aws": 0, "shared": 1, "customer": 2}
    assert matrix.cells[("F2", "s3")] is Responsibility.AWS


def test_hipaa_physical_safeguards_are_aws_for_every_service_in_use() -> None:
    hipaa = load_catalogs().get("hipaa")
    status = _status("ec2", "rds", "s3", catalog=hipaa)
    facility = next(c for c in status.controls if c.control_id == "164.310(a)(1)")
    assert facility.status.value == "inherited"
    assert set(facility.responsibility.values()) == {Responsibility.AWS}
    assert status.matrix.counts[("164.310", "ec2")]["aws"] == 4
