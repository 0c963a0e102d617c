"""Builds the demo estate through the AWS APIs (boto3 against moto): the Organization, its accounts, and each
account's IAM, S3 and regional resources as `estate.yaml` describes them.

Only public AWS APIs are used here, so what the collectors later read is what these calls created. Facts that
AWS offers no API for (root MFA, the age of a key) are set in `simulated.py`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.session

from auditpack.demo.network import owner_tags
from auditpack.demo.regional import build_region
from auditpack.demo.spec import Account, Bucket, EstateSpec, Region

MEMBER_ROLE = "OrganizationAccountAccessRole"  # created by Organizations in every account it creates
ALL_BLOCKS = dict.fromkeys(("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True)


@dataclass
class BuiltEstate:
    """What was built: account ids by the estate's account keys, and how many resources of each kind."""

    spec: EstateSpec
    account_ids: dict[str, str] = field(default_factory=dict)
    resources: Counter[str] = field(default_factory=Counter)

    @property
    def management_id(self) -> str:
        return self.account_ids[self.spec.accounts[0].key]


def member_session(base: boto3.Session, account_id: str) -> boto3.Session:
    """A session in a member account, entered the way an administrator would: through the Organization's role."""
    credentials = base.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{MEMBER_ROLE}", RoleSessionName="acme-demo-setup"
    )["Credentials"]
    core = botocore.session.Session()
    # Share the base session's loader: service models are parsed once, not once per account.
    core.register_component("data_loader", base._session.get_component("data_loader"))
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=base.region_name,
        botocore_session=core,
    )


def build_estate(
    base: boto3.Session, spec: EstateSpec, *, on_account: Callable[[str, str], None] | None = None
) -> BuiltEstate:
    """Create the Organization (the base session's account is its management account) and every account's
    resources. `on_account(key, account_id)` is told when an account is done (for progress displays)."""
    built = BuiltEstate(spec=spec)
    organizations = base.client("organizations")
    organizations.create_organization(FeatureSet="ALL")
    management, *members = spec.accounts
    built.account_ids[management.key] = base.client("sts").get_caller_identity()["Account"]
    for account in members:
        status = organizations.create_account(Email=account.email, AccountName=account.name)["CreateAccountStatus"]
        built.account_ids[account.key] = status["AccountId"]
    for account in spec.accounts:
        account_id = built.account_ids[account.key]
        session = base if account is management else member_session(base, account_id)
        _account(session, account, account_id, spec, built.resources)
        if on_account is not None:
            on_account(account.key, account_id)
    return built


def _account(session: boto3.Session, account: Account, account_id: str, spec: EstateSpec, tally: Counter[str]) -> None:
    _iam(session, account, spec.canary, tally)
    _s3(session, account, account_id, tally)
    for region in spec.regions:
        build_region(
            session,
            region,
            account.regions.get(region) or Region(),
            account_id=account_id,
            estate=spec,
            tally=tally,
        )


def _iam(session: boto3.Session, account: Account, canary: str, tally: Counter[str]) -> None:
    iam = session.client("iam")
    if account.password_policy is not None:
        iam.update_account_password_policy(**account.password_policy)
    contact = account.security_contact
    if contact is not None:
        session.client("account").put_alternate_contact(
            AlternateContactType="SECURITY",
            Name=contact.name,
            Title=contact.title,
            EmailAddress=contact.email,
            PhoneNumber=contact.phone,
        )
    arns = {}
    for policy in account.policies:
        answer = iam.create_policy(PolicyName=policy.name, PolicyDocument=json.dumps(policy.document))
        arns[policy.name] = answer["Policy"]["Arn"]
        tally["IAM policies"] += 1
    for role in account.roles:
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": role.service}, "Action": "sts:AssumeRole"}],
        }
        iam.create_role(RoleName=role.name, AssumeRolePolicyDocument=json.dumps(trust))
        for name in role.policies:
            iam.attach_role_policy(RoleName=role.name, PolicyArn=arns[name])
        tally["IAM roles"] += 1
    for user in account.users:
        iam.create_user(UserName=user.name, Tags=owner_tags(user.owner))
        if user.console:
            iam.create_login_profile(UserName=user.name, Password=canary)
        if user.mfa:
            device = iam.create_virtual_mfa_device(VirtualMFADeviceName=user.name)["VirtualMFADevice"]
            iam.enable_mfa_device(
                UserName=user.name,
                SerialNumber=device["SerialNumber"],
                AuthenticationCode1="123456",
                AuthenticationCode2="654321",
            )
        for _ in user.access_keys:
            iam.create_access_key(UserName=user.name)
        for name in user.policies:
            iam.attach_user_policy(UserName=user.name, PolicyArn=arns[name])
        tally["IAM users"] += 1


def _s3(session: boto3.Session, account: Account, account_id: str, tally: Counter[str]) -> None:
    if account.block_public_access:
        session.client("s3control").put_public_access_block(
            AccountId=account_id, PublicAccessBlockConfiguration=ALL_BLOCKS
        )
    for bucket in account.buckets:
        _bucket(session.client("s3", region_name=bucket.region), bucket)
        tally["S3 buckets"] += 1


def _bucket(s3: Any, bucket: Bucket) -> None:
    name = bucket.name
    if bucket.region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": bucket.region})
    # AWS encrypts every new bucket with SSE-S3 since 2023; moto does not, so the demo says so explicitly.
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": bucket.encryption}}]
        },
    )
    resources = [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]
    statements: list[dict[str, Any]] = []
    if bucket.tls_only:
        statements.append(
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": resources,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        )
    if bucket.public_read:
        statements.append(
            {
                "Sid": "PublicRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": resources[1],
            }
        )
    if statements:
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    if bucket.block_public_access:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=ALL_BLOCKS)
    if bucket.versioning:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    tags = owner_tags(bucket.owner, **({"DataClassification": bucket.classification} if bucket.classification else {}))
    if tags:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags})
