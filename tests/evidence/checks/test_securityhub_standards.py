"""securityhub.standards_enabled: both required standards enabled and READY where Security Hub runs. moto has no
GetEnabledStandards, so Security Hub answers through botocore's Stubber (shapes from the service model)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from evidence.checks.types import Finding, FindingStatus
from evidence.store import EvidenceStore
from tests.evidence.collectors.one_account import collect_account, findings
from tests.evidence.collectors.test_securityhub_collector import ACCOUNT, hub, no_threats, subscription
from tests.moto_server import fake_aws_env
from tests.scenario import Collected

PASS, FAIL, NA, ERROR = FindingStatus.PASS, FindingStatus.FAIL, FindingStatus.NOT_APPLICABLE, FindingStatus.ERROR
CHECK = "securityhub.standards_enabled"
FSBP, PCI = "aws-foundational-security-best-practices/v/1.0.0", "pci-dss/v/4.0.1"
REGIONS = ("us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2")


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGIONS[0])


def _run(aws: boto3.Session, store: EvidenceStore, answers: dict[str, list[tuple[str, object]]]) -> dict[str, Finding]:
    """Collect Security Hub in every region of `answers` ((operation, response or error code) in call order)."""
    clients = {region: aws.client("securityhub", region_name=region) for region in answers}
    stubs = {region: Stubber(client) for region, client in clients.items()}
    for region, calls in answers.items():
        for operation, answer in calls:
            if isinstance(answer, str):
                stubs[region].add_client_error(operation, answer, http_status_code=401)
            else:
                stubs[region].add_response(operation, answer, {})
        if not isinstance(dict(calls)["describe_hub"], str):  # the hub runs: its threat findings are read too
            stubs[region].add_response(*no_threats(region))
        stubs[region].activate()
    run = collect_account(
        store,
        aws,
        ["securityhub"],
        regions=tuple(answers),
        clients={("securityhub", region): client for region, client in clients.items()},
    )
    for stub in stubs.values():
        stub.assert_no_pending_responses()
    return {f.region: f for f in findings(store, run, CHECK)}


def test_standards_enabled_where_the_hub_runs(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    east, west, central, sydney = REGIONS

    def standards(region: str, *subscriptions: tuple[str, str]) -> dict[str, object]:
        return {"StandardsSubscriptions": [subscription(region, s, status) for s, status in subscriptions]}

    result = _run(
        aws,
        sqlite_store,
        {
            east: [
                ("describe_hub", hub(east)),
                ("get_enabled_standards", standards(east, (FSBP, "READY"), (PCI, "READY"))),
            ],
            west: [("describe_hub", hub(west)), ("get_enabled_standards", standards(west, (FSBP, "READY")))],
            central: [
                ("describe_hub", hub(central)),
                ("get_enabled_standards", standards(central, (FSBP, "INCOMPLETE"), (PCI, "PENDING"))),
            ],
            sydney: [("describe_hub", "InvalidAccessException")],
        },
    )
    assert result[east].status == PASS
    assert result[east].resource_id == f"{ACCOUNT}/{east}/securityhub"
    assert result[west].status == FAIL and result[west].reason == "not enabled: PCI DSS v4.0.1"
    assert result[central].status == FAIL
    assert result[central].reason == (
        "AWS Foundational Security Best Practices v1.0.0 is INCOMPLETE; PCI DSS v4.0.1 is PENDING"
    )
    assert result[sydney].status == NA and "securityhub.enabled" in result[sydney].reason


def test_an_older_pci_version_does_not_count(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    east = REGIONS[0]
    listed = [subscription(east, FSBP), subscription(east, "pci-dss/v/3.2.1")]
    result = _run(
        aws,
        sqlite_store,
        {east: [("describe_hub", hub(east)), ("get_enabled_standards", {"StandardsSubscriptions": listed})]},
    )
    assert result[east].status == FAIL and result[east].reason == "not enabled: PCI DSS v4.0.1"


def test_unreadable_standards_are_an_error(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    east = REGIONS[0]
    result = _run(
        aws, sqlite_store, {east: [("describe_hub", hub(east)), ("get_enabled_standards", "AccessDeniedException")]}
    )
    assert result[east].status == ERROR
    assert "securityhub:GetEnabledStandards failed (AccessDeniedException" in result[east].reason


def test_against_moto_the_standards_are_a_gap_where_security_hub_runs(collected: Collected) -> None:
    management = collected.estate.management
    east = collected.finding(CHECK, f"{management}/us-east-1/securityhub")
    assert east.status == ERROR and "securityhub:GetEnabledStandards failed" in east.reason
    assert collected.finding(CHECK, f"{management}/eu-west-1/securityhub").status == NA  # no hub there
