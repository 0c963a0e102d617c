"""Where a family plants its resources: one account (a boto3 session in it) and one region, a count of what was
planted, and the small helpers every family shares (tags, service roles, the base class of the specs)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import boto3
import botocore.session
from pydantic import BaseModel, ConfigDict

from evidence.aws.session import fix_s3control_host

MEMBER_ROLE = "OrganizationAccountAccessRole"  # created by Organizations in every account it creates


class Spec(BaseModel):
    """Base of every resource spec: unknown fields are errors (a typo in data never silently builds nothing)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass
class Target:
    """One account and region to plant into. `at(region)` gives the same account in another region; clients and
    the tally are shared between them (creating a client costs more than most calls)."""

    session: boto3.Session
    account_id: str
    region: str
    tally: Counter[str] = field(default_factory=Counter)
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, session: boto3.Session, region: str | None = None, tally: Counter[str] | None = None) -> Target:
        """The session's own account (asked of STS)."""
        account_id = session.client("sts").get_caller_identity()["Account"]
        return cls(
            session, account_id, region or session.region_name or "us-east-1", Counter() if tally is None else tally
        )

    def at(self, region: str) -> Target:
        return replace(self, region=region)

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.region)
        if key not in self._clients:
            client = self.session.client(service, region_name=key[1])
            if service == "s3control":  # its account-id host prefix does not resolve against moto_server
                client.meta.events.register("before-sign.s3-control", fix_s3control_host)
            self._clients[key] = client
        return self._clients[key]

    def count(self, what: str, number: int = 1) -> None:
        self.tally[what] += number


def owner_tags(owner: str | None, **extra: str) -> list[dict[str, str]]:
    """`[{"Key": ..., "Value": ...}]` tags: Owner first when there is one, then `extra`."""
    return [{"Key": key, "Value": value} for key, value in tag_map(owner, **extra).items()]


def tag_map(owner: str | None, **extra: str) -> dict[str, str]:
    """The same tags as a mapping (CloudWatch Logs, Lambda)."""
    return {**({"Owner": owner} if owner else {}), **extra}


def classified(classification: str | None) -> dict[str, str]:
    return {"DataClassification": classification} if classification else {}


def trust_policy(service: str) -> str:
    """A role trust policy letting one AWS service assume the role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


class ServiceRoles:
    """Service roles created on first use, once per account (IAM is global): what a trail delivering to CloudWatch
    Logs, a Lambda function or an EKS cluster needs to exist, and nothing more."""

    def __init__(self, target: Target) -> None:
        self.iam = target.client("iam")

    def arn(self, name: str, service: str) -> str:
        try:
            return str(self.iam.get_role(RoleName=name)["Role"]["Arn"])
        except self.iam.exceptions.NoSuchEntityException:
            return str(
                self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_policy(service))["Role"]["Arn"]
            )


def member_session(base: boto3.Session, account_id: str, *, session_name: str = "estate-builder") -> boto3.Session:
    """A session in a member account, entered the way an administrator would: through the Organization's role."""
    credentials = base.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{MEMBER_ROLE}", RoleSessionName=session_name
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
