"""The vulnerability collectors against moto: Inspector's account status and open critical findings (kept without
their descriptions or the affected resources' details), ECR repositories and the registry's scanning rules."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.inspector2.models import inspector2_backends

from core.clock import utcnow
from evidence.store import EvidenceStore
from tests.evidence.collectors.harness import REGION, evidence_of, refuse, run_collectors
from tests.moto_server import fake_aws_env

CANARY = "canary-inspector-do-not-store"


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def _account(session: boto3.Session) -> str:
    return session.client("sts").get_caller_identity()["Account"]


def critical_finding(account_id: str, number: int, *, days_open: int, resource: str = "i-0abc") -> dict[str, Any]:
    """An open critical package-vulnerability finding shaped as the Inspector API reference shows one (times as
    epoch seconds, as the JSON protocol carries them)."""
    first = (utcnow() - timedelta(days=days_open)).timestamp()
    return {
        "findingArn": f"arn:aws:inspector2:{REGION}:{account_id}:finding/{number:032x}",
        "awsAccountId": account_id,
        "type": "PACKAGE_VULNERABILITY",
        "title": f"CVE-2024-{number:04d} - openssl",
        "description": f"A flaw in openssl. Instance user data: DB_PASSWORD={CANARY}",
        "remediation": {"recommendation": {"text": "Upgrade openssl."}},
        "severity": "CRITICAL",
        "status": "ACTIVE",
        "firstObservedAt": first,
        "lastObservedAt": first,
        "updatedAt": first,
        "inspectorScore": 9.8,
        "fixAvailable": "YES",
        "exploitAvailable": "NO",
        "resources": [
            {
                "type": "AWS_EC2_INSTANCE",
                "id": resource,
                "region": REGION,
                "partition": "aws",
                "details": {"awsEc2Instance": {"keyName": CANARY, "iamInstanceProfileArn": "arn:aws:iam::1:x"}},
            }
        ],
        "packageVulnerabilityDetails": {
            "vulnerabilityId": f"CVE-2024-{number:04d}",
            "source": "NVD",
            "vulnerablePackages": [{"name": "openssl", "version": "3.0.1", "fixedInVersion": "3.0.8"}],
            "referenceUrls": ["https://nvd.nist.gov/"],
        },
    }


def plant_findings(account_id: str, findings: list[dict[str, Any]]) -> None:
    """moto answers ListFindings from a queue of prepared results (its documented way of seeding findings)."""
    inspector2_backends[account_id][REGION].findings_queue.append(findings)


def test_status_and_open_critical_findings_are_recorded_without_secrets(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    account = _account(aws)
    aws.client("inspector2").enable(accountIds=[account], resourceTypes=["EC2", "ECR", "LAMBDA"])
    plant_findings(account, [critical_finding(account, 1, days_open=45), critical_finding(account, 2, days_open=3)])
    run = run_collectors(sqlite_store, aws, ["inspector2"])

    [status] = evidence_of(sqlite_store, run, "inspector2.account_status")
    assert status.resource_id == f"{account}/{REGION}/inspector2"
    assert status.payload["accounts"][0]["resourceState"]["lambda"] == {"status": "ENABLED"}
    findings = evidence_of(sqlite_store, run, "inspector2.critical_finding")
    assert sorted(f.payload["title"] for f in findings) == ["CVE-2024-0001 - openssl", "CVE-2024-0002 - openssl"]
    kept = findings[0].payload
    assert kept["resources"] == [{"type": "AWS_EC2_INSTANCE", "id": "i-0abc", "region": REGION, "partition": "aws"}]
    assert kept["packageVulnerabilityDetails"]["vulnerablePackages"][0]["fixedInVersion"] == "3.0.8"
    assert "description" not in kept and "remediation" not in kept
    for record in findings:
        assert CANARY not in sqlite_store.payload_bytes(record.sha256).decode()
    [listing] = [
        r for r in evidence_of(sqlite_store, run, "listing") if r.resource_type == "inspector2.critical_finding"
    ]
    assert listing.payload["count"] == 2


def test_where_inspector_scans_nothing_findings_are_not_listed(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    made: set[str] = set()
    run = run_collectors(sqlite_store, aws, ["inspector2"], operations=made)
    [status] = evidence_of(sqlite_store, run, "inspector2.account_status")
    assert status.payload == {"accounts": [], "failedAccounts": []}  # never enabled: moto answers no account
    assert made == {"inspector2.BatchGetAccountStatus"}
    assert sqlite_store.gaps(run.id) == []


def test_a_refused_findings_listing_is_a_gap_and_records_no_listing(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    account = _account(aws)
    aws.client("inspector2").enable(accountIds=[account], resourceTypes=["EC2"])
    refuse(aws, "inspector2.ListFindings")
    run = run_collectors(sqlite_store, aws, ["inspector2"])
    [gap] = sqlite_store.gaps(run.id)
    assert (gap.operation, gap.error_code, gap.kind) == (
        "ListFindings",
        "AccessDeniedException",
        "inspector2.critical_finding",
    )
    assert [
        r for r in evidence_of(sqlite_store, run, "listing") if r.resource_type == "inspector2.critical_finding"
    ] == []


def test_ecr_repositories_and_the_registry_scanning_configuration(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    ecr = aws.client("ecr")
    ecr.create_repository(repositoryName="web", imageScanningConfiguration={"scanOnPush": True})
    ecr.create_repository(repositoryName="batch")
    ecr.put_registry_scanning_configuration(
        scanType="ENHANCED",
        rules=[
            {"scanFrequency": "CONTINUOUS_SCAN", "repositoryFilters": [{"filter": "prod-*", "filterType": "WILDCARD"}]}
        ],
    )
    run = run_collectors(sqlite_store, aws, ["ecr"])
    repositories = {r.payload["repositoryName"]: r for r in evidence_of(sqlite_store, run, "ecr.repository")}
    assert set(repositories) == {"web", "batch"}
    assert repositories["web"].payload["imageScanningConfiguration"] == {"scanOnPush": True}
    [registry] = evidence_of(sqlite_store, run, "ecr.registry_scanning")
    assert registry.payload["scanningConfiguration"]["scanType"] == "ENHANCED"
    assert registry.resource_id.endswith(f"/{REGION}/ecr-registry-scanning")


def test_a_refused_repository_listing_is_a_gap(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    refuse(aws, "ecr.DescribeRepositories")
    run = run_collectors(sqlite_store, aws, ["ecr"])
    assert [(g.operation, g.kind) for g in sqlite_store.gaps(run.id)] == [("DescribeRepositories", "ecr.repository")]
    assert evidence_of(sqlite_store, run, "ecr.registry_scanning")  # the other read still stands
