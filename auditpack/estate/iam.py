"""IAM and account settings: password policy, security contact, customer-managed policies, roles, users (console
password, virtual MFA, access keys, attached policies), and the roles IAM Identity Center provisions for the
permission sets assigned to the account."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from auditpack.estate.target import Spec, Target, owner_tags, trust_policy


class AccessKey(Spec):
    """An access key. Its age and last use have no AWS API: whoever needs them sets them in moto afterwards."""

    age_days: int = Field(default=0, ge=0)
    last_used_days: int | None = Field(default=None, ge=0)  # None: never used


class User(Spec):
    name: str
    owner: str | None = None
    tags: dict[str, str] = {}
    console: bool = False  # a login profile (console password)
    mfa: bool = False  # a virtual MFA device, enabled
    password_last_used_days: int | None = Field(default=None, ge=0)  # no API: set in moto afterwards
    access_keys: tuple[AccessKey, ...] = Field(default=(), max_length=2)
    policies: tuple[str, ...] = ()  # names of customer-managed policies planted before the user


class Policy(Spec):
    name: str
    document: dict[str, Any]


class Role(Spec):
    name: str
    service: str  # the AWS service trusted to assume it
    policies: tuple[str, ...] = ()


class PermissionSet(Spec):
    """An IAM Identity Center permission set assigned to the account. AWS then creates, in the account, the role
    AWSReservedSSO_<name>_<16 hex digits> under /aws-reserved/sso.amazonaws.com/ (a path no one else may create
    roles under), trusting Identity Center's SAML provider. moto has no such provisioning (and lets anyone use the
    path), so the builder creates the role through IAM as Identity Center would."""

    name: str
    session_hours: int = Field(default=1, ge=1, le=12)  # the permission set's session duration: the role's maximum


class Root(Spec):
    """The root user's MFA and access keys: no AWS API sets them, so whoever needs them sets them in moto."""

    mfa: bool
    access_keys: bool


class SecurityContact(Spec):
    """The account's security alternate contact (whom AWS tells about abuse and compromise)."""

    name: str
    title: str
    email: str
    phone: str


def plant_password_policy(target: Target, policy: Mapping[str, Any]) -> None:
    """`policy`: UpdateAccountPasswordPolicy's arguments (MinimumPasswordLength, RequireSymbols, ...)."""
    target.client("iam").update_account_password_policy(**policy)


def plant_security_contact(target: Target, contact: SecurityContact) -> None:
    target.client("account").put_alternate_contact(
        AlternateContactType="SECURITY",
        Name=contact.name,
        Title=contact.title,
        EmailAddress=contact.email,
        PhoneNumber=contact.phone,
    )


def plant_policy(target: Target, policy: Policy) -> str:
    """A customer-managed policy; its ARN."""
    answer = target.client("iam").create_policy(PolicyName=policy.name, PolicyDocument=json.dumps(policy.document))
    target.count("IAM policies")
    return str(answer["Policy"]["Arn"])


def plant_role(target: Target, role: Role, policy_arns: Mapping[str, str] | None = None) -> str:
    """A role the service may assume, with the named policies attached (`policy_arns`: name -> ARN); its ARN."""
    iam = target.client("iam")
    arn = str(iam.create_role(RoleName=role.name, AssumeRolePolicyDocument=trust_policy(role.service))["Role"]["Arn"])
    for name in role.policies:
        iam.attach_role_policy(RoleName=role.name, PolicyArn=(policy_arns or {})[name])
    target.count("IAM roles")
    return arn


def plant_user(
    target: Target, user: User, *, password: str | None = None, policy_arns: Mapping[str, str] | None = None
) -> None:
    """A user; with `console`, a login profile with `password`; `policy_arns` resolves `user.policies`."""
    iam = target.client("iam")
    iam.create_user(UserName=user.name, Tags=owner_tags(user.owner, **user.tags))
    if user.console:
        if password is None:
            raise ValueError(f"user {user.name} has a console password: give it")
        iam.create_login_profile(UserName=user.name, Password=password)
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
        iam.attach_user_policy(UserName=user.name, PolicyArn=(policy_arns or {})[name])
    target.count("IAM users")


IDENTITY_CENTER_PATH = "/aws-reserved/sso.amazonaws.com/"


def plant_permission_set(target: Target, permission_set: PermissionSet) -> str:
    """The role Identity Center provisions for `permission_set` in the target's account; its ARN."""
    suffix = hashlib.sha256(f"{target.account_id}/{permission_set.name}".encode()).hexdigest()[:16]
    provider = f"arn:aws:iam::{target.account_id}:saml-provider/AWSSSO_{suffix}_DO_NOT_DELETE"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider},
                "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
                "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}},
            }
        ],
    }
    answer = target.client("iam").create_role(
        RoleName=f"AWSReservedSSO_{permission_set.name}_{suffix}",
        Path=IDENTITY_CENTER_PATH,
        AssumeRolePolicyDocument=json.dumps(trust),
        MaxSessionDuration=permission_set.session_hours * 3600,
    )
    target.count("IAM Identity Center permission sets")
    return str(answer["Role"]["Arn"])
