"""Security Hub's enabled standards and untriaged threat findings, read only where the hub runs. moto has no
GetEnabledStandards and ignores GetFindings' filters, so Security Hub's answers here come from botocore's Stubber
(shapes from the service model, ARNs as AWS writes them), which also checks the filters sent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from evidence.collectors.monitoring import THREAT_NAMESPACES
from evidence.store import EvidenceStore
from tests.evidence.collectors.one_account import collect_account, evidence
from tests.moto_server import fake_aws_env

EAST, WEST = "us-east-1", "eu-west-1"
ACCOUNT = "123456789012"  # moto's default account


def hub(region: str) -> dict[str, Any]:
    return {
        "HubArn": f"arn:aws:securityhub:{region}:{ACCOUNT}:hub/default",
        "SubscribedAt": "2025-01-07T09:30:00.000Z",
        "AutoEnableControls": True,
        "ControlFindingGenerator": "SECURITY_CONTROL",
    }


def threat_filters(region: str) -> dict[str, Any]:
    """The GetFindings filters the collector sends: this account's and region's active, untriaged, high or critical
    threat detections."""

    def equals(*values: str) -> list[dict[str, str]]:
        return [{"Value": v, "Comparison": "EQUALS"} for v in values]

    return {
        "AwsAccountId": equals(ACCOUNT),
        "Region": equals(region),
        "RecordState": equals("ACTIVE"),
        "WorkflowStatus": equals("NEW"),
        "SeverityLabel": equals("HIGH", "CRITICAL"),
        "Type": [{"Value": n, "Comparison": "PREFIX"} for n in THREAT_NAMESPACES],
    }


def no_threats(region: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(operation, answer, expected parameters) of a GetFindings that finds nothing."""
    return "get_findings", {"Findings": []}, {"Filters": threat_filters(region)}


def subscription(region: str, standard: str, status: str = "READY") -> dict[str, Any]:
    """A standards subscription as GetEnabledStandards returns it; `standard` like 'pci-dss/v/4.0.1'."""
    return {
        "StandardsSubscriptionArn": f"arn:aws:securityhub:{region}:{ACCOUNT}:subscription/{standard}",
        "StandardsArn": f"arn:aws:securityhub:{region}::standards/{standard}",
        "StandardsInput": {},
        "StandardsStatus": status,
    }


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=EAST)


def test_standards_are_read_where_the_hub_runs_and_nowhere_else(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    east, west = aws.client("securityhub", region_name=EAST), aws.client("securityhub", region_name=WEST)
    with Stubber(east) as east_stub, Stubber(west) as west_stub:
        east_stub.add_response("describe_hub", hub(EAST), {})
        standards = [subscription(EAST, "pci-dss/v/4.0.1"), subscription(EAST, "cis-aws-foundations-benchmark/v/3.0.0")]
        east_stub.add_response("get_enabled_standards", {"StandardsSubscriptions": standards}, {})
        east_stub.add_response(*no_threats(EAST))
        west_stub.add_client_error(
            "describe_hub", "InvalidAccessException", "Account is not subscribed to AWS Security Hub", 401
        )
        run = collect_account(
            sqlite_store,
            aws,
            ["securityhub"],
            regions=(EAST, WEST),
            clients={("securityhub", EAST): east, ("securityhub", WEST): west},
        )
        east_stub.assert_no_pending_responses()
        west_stub.assert_no_pending_responses()  # no GetEnabledStandards, no GetFindings where Security Hub is off
    [recorded] = evidence(sqlite_store, run, "securityhub.enabled_standards")
    assert (recorded.region, recorded.resource_id) == (EAST, f"{ACCOUNT}/{EAST}/securityhub-standards")
    assert [s["StandardsArn"] for s in recorded.payload["StandardsSubscriptions"]] == [
        s["StandardsArn"] for s in standards
    ]
    assert sqlite_store.gaps(run.id) == []


def test_a_refused_standards_listing_is_a_gap(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    east = aws.client("securityhub", region_name=EAST)
    with Stubber(east) as stub:
        stub.add_response("describe_hub", hub(EAST), {})
        stub.add_client_error("get_enabled_standards", "AccessDeniedException", http_status_code=403)
        stub.add_response(*no_threats(EAST))  # the findings are still read
        run = collect_account(sqlite_store, aws, ["securityhub"], clients={("securityhub", EAST): east})
    assert evidence(sqlite_store, run, "securityhub.enabled_standards") == []
    [gap] = sqlite_store.gaps(run.id)
    assert (gap.operation, gap.kind, gap.region) == ("GetEnabledStandards", "securityhub.enabled_standards", EAST)
