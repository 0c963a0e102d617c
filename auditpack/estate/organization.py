"""An AWS Organization: the base session's account becomes the management account; members are created in it
and entered through `OrganizationAccountAccessRole` (`target.member_session`)."""

from __future__ import annotations

from collections.abc import Sequence

import boto3

from auditpack.estate.target import Spec


class Member(Spec):
    name: str
    email: str


def plant_organization(base: boto3.Session, members: Sequence[Member]) -> tuple[str, list[str]]:
    """Create the Organization (all features) and its member accounts: (management id, member ids in order)."""
    organizations = base.client("organizations")
    organizations.create_organization(FeatureSet="ALL")
    management = base.client("sts").get_caller_identity()["Account"]
    ids = [
        organizations.create_account(Email=member.email, AccountName=member.name)["CreateAccountStatus"]["AccountId"]
        for member in members
    ]
    return management, ids
