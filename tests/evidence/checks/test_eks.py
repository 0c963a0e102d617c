"""eks.* checks against moto: control-plane logging of every type, and where the API endpoint can be reached from."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from evidence.checks.types import Finding, FindingStatus
from evidence.store import EvidenceStore
from tests.evidence.collectors.harness import REGION, findings_of, refuse, run_collectors
from tests.moto_server import fake_aws_env
from tests.scenario import Collected

PASS, FAIL, ERROR = FindingStatus.PASS, FindingStatus.FAIL, FindingStatus.ERROR
ALL_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
PRIVATE = {"endpointPublicAccess": False, "endpointPrivateAccess": True}


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def _cluster(session: boto3.Session, name: str, access: dict[str, Any], logged: list[str] | None = None) -> None:
    logging = {"clusterLogging": [{"types": logged, "enabled": True}]} if logged else None
    session.client("eks").create_cluster(
        name=name,
        roleArn="arn:aws:iam::123456789012:role/eks",
        resourcesVpcConfig={"subnetIds": ["subnet-1"], **access},
        **({"logging": logging} if logging else {}),
    )


def _by_name(findings: list[Finding]) -> dict[str, Finding]:
    return {f.resource_id.rsplit("/", 1)[-1]: f for f in findings}


def test_control_plane_logging_needs_every_type(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    _cluster(aws, "full", PRIVATE, ALL_TYPES)
    _cluster(aws, "partial", PRIVATE, ["api", "audit"])
    _cluster(aws, "silent", PRIVATE)  # EKS's default: every type off
    run = run_collectors(sqlite_store, aws, ["inventory"])
    found = _by_name(findings_of(sqlite_store, run, "eks.control_plane_logging"))
    assert found["full"].status == PASS
    assert (found["partial"].status, found["partial"].reason) == (
        FAIL,
        "control-plane logs not sent to CloudWatch Logs: authenticator, controllerManager, scheduler",
    )
    assert found["silent"].status == FAIL and "api, audit, authenticator" in found["silent"].reason


def test_endpoint_private_or_restricted_passes_and_open_to_all_fails(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    _cluster(aws, "private", PRIVATE)
    _cluster(aws, "office-only", {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]})
    _cluster(aws, "open", {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24", "0.0.0.0/0"]})
    _cluster(aws, "default-list", {"endpointPublicAccess": True})  # AWS's default list is 0.0.0.0/0
    run = run_collectors(sqlite_store, aws, ["inventory"])
    found = _by_name(findings_of(sqlite_store, run, "eks.endpoint_not_public"))
    assert found["private"].status == PASS
    assert (found["office-only"].status, found["office-only"].reason) == (
        PASS,
        "the Kubernetes API endpoint is public but only to 203.0.113.0/24",
    )
    assert found["open"].status == FAIL and "any address" in found["open"].reason
    assert found["default-list"].status == FAIL


def test_a_description_without_endpoint_access_cannot_be_decided(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    _cluster(aws, "unknown", {})  # moto repeats what it was given; AWS always answers endpointPublicAccess
    run = run_collectors(sqlite_store, aws, ["inventory"])
    [finding] = findings_of(sqlite_store, run, "eks.endpoint_not_public")
    assert finding.status == ERROR and finding.reason.startswith("cannot decide")


def test_a_refused_description_is_an_error_for_both_checks(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    _cluster(aws, "prod", PRIVATE, ALL_TYPES)
    refuse(aws, "eks.DescribeCluster")
    run = run_collectors(sqlite_store, aws, ["inventory"])
    for check_id in ("eks.control_plane_logging", "eks.endpoint_not_public"):
        [finding] = findings_of(sqlite_store, run, check_id)
        assert finding.status == ERROR and "eks:DescribeCluster failed (AccessDeniedException" in finding.reason


def test_in_the_scenario_estate(collected: Collected) -> None:
    for check_id in ("eks.control_plane_logging", "eks.endpoint_not_public"):
        assert collected.finding(check_id, ":cluster/prod").status == PASS
        assert collected.finding(check_id, ":cluster/dev").status == FAIL
