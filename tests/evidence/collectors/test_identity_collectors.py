"""The evidence behind the identity checks: each user's attached policies (IAM), the roles IAM Identity Center
provisioned in the account, and the agreements accepted in AWS Artifact. moto has no Artifact
API, so its answers come from botocore's Stubber (shapes from the service model); a refused call is a gap."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from evidence.store import EvidenceStore
from tests.evidence.collectors.one_account import REGION, collect_account, deny, evidence
from tests.moto_server import fake_aws_env

READ = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def test_each_user_is_recorded_with_its_attached_and_inline_policies(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    iam = aws.client("iam")
    policy = iam.create_policy(PolicyName="read", PolicyDocument=json.dumps(READ))["Policy"]["Arn"]
    iam.create_group(GroupName="readers")
    iam.attach_group_policy(GroupName="readers", PolicyArn=policy)
    iam.create_user(UserName="direct")
    iam.attach_user_policy(UserName="direct", PolicyArn=policy)
    iam.put_user_policy(UserName="direct", PolicyName="inline-read", PolicyDocument=json.dumps(READ))
    iam.create_user(UserName="grouped", Tags=[{"Key": "Owner", "Value": "data-team"}])
    iam.add_user_to_group(UserName="grouped", GroupName="readers")

    run = collect_account(sqlite_store, aws, ["iam"])
    users = {r.payload["UserName"]: r for r in evidence(sqlite_store, run, "iam.user")}
    assert [p["PolicyArn"] for p in users["direct"].payload["AttachedManagedPolicies"]] == [policy]
    assert [p["PolicyName"] for p in users["direct"].payload["UserPolicyList"]] == ["inline-read"]
    assert users["grouped"].payload["AttachedManagedPolicies"] == []
    assert users["grouped"].payload["GroupList"] == ["readers"]
    assert "Tags" not in users["grouped"].payload  # tags attribute the owner, they are not evidence
    assert users["grouped"].owner == "data-team"
    [listing] = [r for r in evidence(sqlite_store, run, "listing") if r.resource_type == "iam.user"]
    assert sorted(listing.payload["resource_ids"]) == sorted(r.resource_id for r in users.values())


def test_refused_authorization_details_are_a_gap_for_the_users_too(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    aws.client("iam").create_user(UserName="someone")
    deny(aws, "iam", "GetAccountAuthorizationDetails", code="AccessDenied")
    run = collect_account(sqlite_store, aws, ["iam"])
    assert evidence(sqlite_store, run, "iam.user") == []
    gaps = {(g.operation, g.kind, g.error_code) for g in sqlite_store.gaps(run.id)}
    assert gaps == {
        ("GetAccountAuthorizationDetails", "iam.managed_policy", "AccessDenied"),
        ("GetAccountAuthorizationDetails", "iam.user", "AccessDenied"),
    }


SSO_PATH = "/aws-reserved/sso.amazonaws.com/"


def sso_trust(account: str) -> str:
    """The trust policy Identity Center gives the roles it provisions: its SAML provider in the account."""
    provider = f"arn:aws:iam::{account}:saml-provider/AWSSSO_0a1b2c3d4e5f6789_DO_NOT_DELETE"
    statement = {
        "Effect": "Allow",
        "Principal": {"Federated": provider},
        "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
        "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}},
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def test_the_roles_identity_center_provisioned_are_recorded(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    iam = aws.client("iam")
    account = aws.client("sts").get_caller_identity()["Account"]
    iam.create_role(
        RoleName="AWSReservedSSO_ClinicalEngineer_1a2b3c4d5e6f7a8b",
        Path=SSO_PATH,
        AssumeRolePolicyDocument=sso_trust(account),
    )
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=sso_trust(account))  # any other role is not listed
    run = collect_account(sqlite_store, aws, ["identity_center"])
    [roles] = evidence(sqlite_store, run, "iam.identity_center_roles")
    assert roles.region == "global" and roles.resource_id == f"{account}/identity-center-roles"
    assert [r["RoleName"] for r in roles.payload["Roles"]] == ["AWSReservedSSO_ClinicalEngineer_1a2b3c4d5e6f7a8b"]
    assert set(roles.payload["Roles"][0]) == {"RoleName", "Arn", "Path", "CreateDate"}


def test_a_refused_role_listing_is_a_gap(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    deny(aws, "iam", "ListRoles", code="AccessDenied")
    run = collect_account(sqlite_store, aws, ["identity_center"])
    assert evidence(sqlite_store, run, "iam.identity_center_roles") == []
    assert [(g.operation, g.kind) for g in sqlite_store.gaps(run.id)] == [("ListRoles", "iam.identity_center_roles")]


BAA = {
    "name": "AWS Business Associate Addendum",
    "arn": "arn:aws:artifact:us-east-1:111111111111:customer-agreement/customer-agreement-abcdef0123456789",
    "id": "customer-agreement-abcdef0123456789",
    "agreementArn": "arn:aws:artifact:::agreement/agreement-ba7d8b2b9c0e4f01",
    "awsAccountId": "111111111111",
    "effectiveStart": datetime(2025, 3, 4, 10, 0, tzinfo=UTC),
    "state": "ACTIVE",
    "type": "DEFAULT",
    "description": "The Business Associate Addendum for HIPAA-eligible services.",
    "acceptanceTerms": ["I have read and agree to the terms of the AWS Business Associate Addendum."],
    "terminateTerms": ["I understand that terminating the agreement ..."],
}


def test_artifact_agreements_are_recorded_without_their_legal_text(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    artifact = aws.client("artifact", region_name=REGION)
    with Stubber(artifact) as stub:
        stub.add_response("list_customer_agreements", {"customerAgreements": [BAA]}, {})
        run = collect_account(sqlite_store, aws, ["artifact"], clients={("artifact", REGION): artifact})
        stub.assert_no_pending_responses()
    [agreements] = evidence(sqlite_store, run, "artifact.customer_agreements")
    [recorded] = agreements.payload["customerAgreements"]
    assert recorded["name"] == "AWS Business Associate Addendum" and recorded["state"] == "ACTIVE"
    assert "acceptanceTerms" not in recorded and "terminateTerms" not in recorded


def test_a_refused_artifact_listing_is_a_gap(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    artifact = aws.client("artifact", region_name=REGION)
    with Stubber(artifact) as stub:
        stub.add_client_error("list_customer_agreements", "AccessDeniedException", http_status_code=403)
        run = collect_account(sqlite_store, aws, ["artifact"], clients={("artifact", REGION): artifact})
    assert evidence(sqlite_store, run, "artifact.customer_agreements") == []
    [gap] = sqlite_store.gaps(run.id)
    assert (gap.operation, gap.kind, gap.error_code) == (
        "ListCustomerAgreements",
        "artifact.customer_agreements",
        "AccessDeniedException",
    )
