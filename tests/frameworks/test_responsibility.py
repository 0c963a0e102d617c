"""Responsibility shown for the services in use only, overall per control, and the matrix of services x families."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from evidence.checks.types import ServiceUsage
from frameworks.evaluate import evaluate_framework
from frameworks.loader import load_catalogs
from frameworks.results import Responsibility, RunRef
from frameworks.schema import Catalog
from tests.frameworks.helpers import ACCOUNT, AS_OF, mini_catalog, mini_catalog_data, usage

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


# -- container services split by what hosts their workloads (issue 13) -------------------------------------------

HOST_DEPENDENT = {  # controls about the hosts: patching, vulnerabilities, malware, hardening, clocks, FIM
    "pci-dss": ("2.2.1", "5.2.1", "5.3.1", "6.3.1", "6.3.3", "10.6.1", "11.3.1", "11.5.2"),
    "soc2": ("CC6.8", "CC7.1"),
    "hipaa": ("164.308(a)(5)(ii)(B)",),
}


def _hosted(*hosting: tuple[str, frozenset[str]], unknown: tuple[str, ...] = ()) -> ServiceUsage:
    """ECS and EKS in use in one region, with the hosting found per service, and services whose hosting is unknown."""
    counts = {(ACCOUNT, "us-east-1", service): 1 for service in ("ecs", "eks", "ec2")}
    return ServiceUsage(
        counts=counts,
        hosting={(ACCOUNT, "us-east-1", service): hosts for service, hosts in hosting},
        hosting_unknown=frozenset((ACCOUNT, "us-east-1", service) for service in unknown),
    )


def test_responsibility_keys_split_container_services_by_hosting() -> None:
    fargate, ec2 = frozenset({"fargate"}), frozenset({"ec2"})
    assert _hosted(("ecs", fargate), ("eks", ec2)).responsibility_keys() == {"ec2", "ecs-fargate", "eks-ec2"}
    both = _hosted(("ecs", fargate | ec2), ("eks", fargate)).responsibility_keys()
    assert both == {"ec2", "ecs-ec2", "ecs-fargate", "eks-fargate"}
    # a cluster whose hosting is unknown keeps the service's own (conservative) key next to what is known
    assert _hosted(("ecs", fargate), unknown=("ecs",)).responsibility_keys() == {"ec2", "ecs", "ecs-fargate", "eks"}
    # clusters with nothing running on them: the service's own key
    assert _hosted().responsibility_keys() == {"ec2", "ecs", "eks"}
    scoped = _hosted(("ecs", fargate), unknown=("eks",)).for_accounts(["222222222222"])
    assert scoped.hosting == {} and scoped.hosting_unknown == frozenset() and scoped.responsibility_keys() == set()


def test_a_hosting_key_falls_back_to_its_service_then_to_default() -> None:
    pci = {c.id: c for c in load_catalogs().get("pci-dss").controls}
    patching = pci["6.3.3"]
    assert patching.responsibility_for("ecs-fargate") is Responsibility.SHARED  # AWS patches the Fargate hosts
    assert patching.responsibility_for("ecs-ec2") is Responsibility.CUSTOMER  # no entry: the ecs one
    assert patching.responsibility_for("ecs") is Responsibility.CUSTOMER  # hosting unknown: customer-run assumed
    policy = pci["12.1.1"]  # no per-service entries at all
    assert policy.responsibility_for("eks-fargate") is policy.responsibility["default"]


@pytest.mark.parametrize("framework_id", sorted(HOST_DEPENDENT))
def test_host_controls_are_the_customers_on_ec2_hosts_and_not_on_fargate(framework_id: str) -> None:
    controls = {c.id: c for c in load_catalogs().get(framework_id).controls}
    for control_id in HOST_DEPENDENT[framework_id]:
        control = controls[control_id]
        for service in ("ecs", "eks"):
            assert control.responsibility_for(f"{service}-ec2") is Responsibility.CUSTOMER, (control_id, service)
            assert control.responsibility_for(service) is Responsibility.CUSTOMER, (control_id, service)
            assert control.responsibility_for(f"{service}-fargate") is not Responsibility.CUSTOMER, control_id


def test_status_shows_the_split_the_inventory_found() -> None:
    pci = load_catalogs().get("pci-dss")

    def patching(usage: ServiceUsage) -> dict[str, Responsibility]:
        status = evaluate_framework(
            pci, findings=(), gaps=(), usage=usage, runs=(RUN,), as_of=AS_OF, freshness_hours=48
        )
        assert status.services_in_use == {"ec2", "ecs", "eks"}  # service types: what the checks apply to
        return next(c for c in status.controls if c.control_id == "6.3.3").responsibility

    fargate, ec2 = frozenset({"fargate"}), frozenset({"ec2"})
    C, S = Responsibility.CUSTOMER, Responsibility.SHARED
    assert patching(_hosted(("ecs", fargate), ("eks", fargate | ec2))) == {
        "ec2": C, "eks-ec2": C, "eks-fargate": S, "ecs-fargate": S
    }  # fmt: skip
    assert patching(_hosted(("ecs", ec2), unknown=("eks",))) == {"ec2": C, "eks": C, "ecs-ec2": C}
    status = evaluate_framework(
        pci, findings=(), gaps=(), usage=_hosted(("ecs", fargate)), runs=(RUN,), as_of=AS_OF, freshness_hours=48
    )
    assert status.matrix.services == ("ec2", "eks", "ecs-fargate")  # canonical order, hosting after its service
    assert status.matrix.cells[("10", "ecs-fargate")] is S  # Fargate's clock is AWS's, the logs the customer's


def test_an_unknown_hosting_key_is_refused_in_a_catalog() -> None:
    data = mini_catalog_data()
    data["controls"][1]["responsibility"] = {"default": "customer", "ecs-lambda": "aws"}
    with pytest.raises(ValidationError, match=r"unknown service type\(s\) \['ecs-lambda'\]"):
        Catalog.model_validate(data)


# -- the same answer everywhere ---------------------------------------------------------------------------------

MALWARE = {
    "hipaa": ("164.308(a)(5)(ii)(B)",),
    "pci-dss": ("5.2.1", "5.2.2", "5.3.1", "5.3.2", "5.3.4", "5.3.5"),
    "soc2": ("CC6.8",),
}


def test_s3_malware_responsibility_has_one_answer_across_frameworks() -> None:
    # AWS protects the storage service; it does not scan the objects stored in it, which is the customer's part
    answers = {
        (framework_id, control_id): control.responsibility_for("s3")
        for framework_id, ids in MALWARE.items()
        for control in load_catalogs().get(framework_id).controls
        if (control_id := control.id) in ids
    }
    assert len(answers) == sum(len(ids) for ids in MALWARE.values())
    assert set(answers.values()) == {Responsibility.SHARED}, answers
