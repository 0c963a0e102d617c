"""artifact.hipaa_baa_accepted: an account holding ePHI (by its data stores' classification tags, or by
AUDITPACK_EPHI_ACCOUNTS) has an active Business Associate Addendum in AWS Artifact. Data stores come from moto;
moto has no Artifact API, so ListCustomerAgreements answers through botocore's Stubber."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from evidence.checks.thresholds import Thresholds
from evidence.checks.types import Finding, FindingStatus
from evidence.store import EvidenceStore
from tests.evidence.collectors.one_account import REGION, collect_account, deny, findings
from tests.evidence.collectors.test_identity_collectors import BAA
from tests.moto_server import fake_aws_env
from tests.scenario import Collected

PASS, FAIL, NA, ERROR = FindingStatus.PASS, FindingStatus.FAIL, FindingStatus.NOT_APPLICABLE, FindingStatus.ERROR
CHECK = "artifact.hipaa_baa_accepted"
ACCOUNT = "123456789012"  # moto's default account
COLLECTORS = ["s3", "rds", "dynamodb", "artifact"]
ORGANIZATION_BAA = {
    **BAA,
    "name": "AWS Organizations Business Associate Addendum",
    "awsAccountId": "999999999999",
    "organizationArn": "arn:aws:organizations::999999999999:organization/o-exampleorgid",
}


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def bucket(aws: boto3.Session, name: str, classification: str | None) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=name)
    if classification:
        tags = [{"Key": "DataClassification", "Value": classification}]
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags})


def judge(
    aws: boto3.Session,
    store: EvidenceStore,
    agreements: list[dict[str, Any]] | str | None,
    thresholds: Thresholds | None = None,
) -> Finding:
    """Collect the data stores and Artifact (`agreements`: the answer, an error code, or None: never asked)."""
    artifact = aws.client("artifact", region_name=REGION)
    with Stubber(artifact) as stub:
        if isinstance(agreements, str):
            stub.add_client_error("list_customer_agreements", agreements, http_status_code=403)
        elif agreements is not None:
            stub.add_response("list_customer_agreements", {"customerAgreements": agreements}, {})
        run = collect_account(store, aws, COLLECTORS, clients={("artifact", REGION): artifact})
        stub.assert_no_pending_responses()
    [finding] = findings(store, run, CHECK, thresholds)
    assert finding.resource_id == f"arn:aws:iam::{ACCOUNT}:root" and finding.region == "global"
    return finding


def test_an_account_with_ephi_and_the_baa_passes(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    bucket(aws, "patient-records", "ePHI")
    bucket(aws, "website", "public")
    finding = judge(aws, sqlite_store, [BAA])
    assert finding.status == PASS
    assert finding.reason == (
        "the account holds ePHI (arn:aws:s3:::patient-records is classified ePHI) and AWS Business Associate "
        "Addendum is accepted in AWS Artifact for the account, effective 2025-03-04"
    )


def test_the_organization_agreement_counts_for_a_member_account(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    aws.client("dynamodb").create_table(
        TableName="claims",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": "data-classification", "Value": "phi"}],
    )
    finding = judge(aws, sqlite_store, [ORGANIZATION_BAA])
    assert finding.status == PASS and "for the Organization" in finding.reason and ":table/claims" in finding.reason


def test_ephi_without_an_active_baa_fails(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    aws.client("rds").create_db_instance(
        DBInstanceIdentifier="ehr",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="admin",
        MasterUserPassword="not-a-real-password",
        AllocatedStorage=20,
        Tags=[{"Key": "Classification", "Value": "PHI"}],
    )
    terminated = {**BAA, "state": "CUSTOMER_TERMINATED", "effectiveEnd": BAA["effectiveStart"]}
    nda = {**BAA, "name": "AWS Nondisclosure Agreement", "id": "customer-agreement-nda"}
    finding = judge(aws, sqlite_store, [terminated, nda])
    assert finding.status == FAIL
    assert finding.reason == (
        f"the account holds ePHI (arn:aws:rds:{REGION}:{ACCOUNT}:db:ehr is classified PHI) and no active Business "
        "Associate Addendum applies to it in AWS Artifact"
    )


def test_an_account_listed_as_holding_ephi_is_judged_whatever_its_tags(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    finding = judge(aws, sqlite_store, [], Thresholds(ephi_accounts=(ACCOUNT,)))
    assert finding.status == FAIL and "AUDITPACK_EPHI_ACCOUNTS lists it" in finding.reason


def test_an_account_without_ephi_is_not_applicable(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    bucket(aws, "website", "public")
    bucket(aws, "scratch", None)
    finding = judge(aws, sqlite_store, [])
    assert finding.status == NA
    assert finding.reason == (
        "no S3 bucket, RDS instance or DynamoDB table is classified as ePHI (ephi, phi) and AUDITPACK_EPHI_ACCOUNTS "
        "does not list the account"
    )
    assert len(finding.evidence) == 3  # the bucket, DB instance and table listings it rests on


def test_configured_ephi_values_decide(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    bucket(aws, "intake", "patient-data")
    finding = judge(aws, sqlite_store, [BAA], Thresholds(ephi_classifications=("Patient-Data",)))
    assert finding.status == PASS


def test_unreadable_tags_mean_the_check_cannot_tell(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    bucket(aws, "archive", "ephi")
    deny(aws, "s3", "GetBucketTagging", code="AccessDenied")
    finding = judge(aws, sqlite_store, [])
    assert finding.status == ERROR and "s3:GetBucketTagging failed (AccessDenied" in finding.reason


def test_ephi_with_unreadable_agreements_is_an_error(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    bucket(aws, "patient-records", "ephi")
    finding = judge(aws, sqlite_store, "AccessDeniedException")
    assert finding.status == ERROR
    assert "artifact:ListCustomerAgreements failed (AccessDeniedException" in finding.reason


def test_against_moto_artifact_is_a_gap_and_only_accounts_with_ephi_need_it(collected: Collected) -> None:
    estate = collected.estate
    baa = {f.account_id: f for f in collected.findings(CHECK)}
    # the management account keeps the "orders" table classified ephi: it needs the BAA, which moto cannot show
    assert baa[estate.management].status == ERROR
    assert "artifact:ListCustomerAgreements failed" in baa[estate.management].reason
    assert baa[estate.member_a].status == NA and baa[estate.member_b].status == NA
