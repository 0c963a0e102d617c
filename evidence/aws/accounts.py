"""Resolving a scope into targets: who the caller is, which accounts (Organizations, read from the management
account or a delegated administrator), and how each is entered (the caller's own credentials, or sts:AssumeRole
of a role whose ARN is in the partition of the region collection runs from)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from core.errors import AuditpackError
from evidence.aws.calls import CallStats, describe_error, retry_attempts
from evidence.aws.partition import arn


class CollectionFailed(AuditpackError):
    """The collection job itself could not run (no credentials, Organization not readable): the run is failed."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None, run_id: int | None = None) -> None:
        super().__init__(message, hint=hint)
        self.run_id = run_id


@dataclass(frozen=True, slots=True)
class Caller:
    account_id: str
    arn: str


def identify_caller(session: boto3.Session, *, region: str, config: Config, stats: CallStats) -> Caller:
    """sts:GetCallerIdentity with the base credentials; failure means the job cannot run at all."""
    client = session.client("sts", region_name=region, config=config)
    started = time.monotonic()
    try:
        answer = client.get_caller_identity()
    except (ClientError, BotoCoreError) as exc:
        stats.call(
            "sts.GetCallerIdentity",
            seconds=time.monotonic() - started,
            retries=retry_attempts(exc),
            failed=True,
            account="-",
            region="global",
        )
        code, message = describe_error(exc)
        raise CollectionFailed(
            f"cannot identify the AWS caller (sts:GetCallerIdentity failed: {code}: {message})",
            hint="check your AWS credentials (AWS_PROFILE / --profile, environment variables or SSO login)",
        ) from None
    stats.call(
        "sts.GetCallerIdentity",
        seconds=time.monotonic() - started,
        retries=retry_attempts(answer),
        failed=False,
        account=answer["Account"],
        region="global",
    )
    return Caller(account_id=answer["Account"], arn=answer["Arn"])


def account_state(account: dict[str, Any]) -> str:
    """ACTIVE, SUSPENDED, ... (Organizations is replacing `Status` with `State`; read either)."""
    return str(account.get("State") or account.get("Status") or "UNKNOWN")


def role_arn(role_name: str, account_id: str, *, partition: str) -> str:
    """The role to assume in `account_id`, in `partition` (arn:aws-us-gov:iam::... in GovCloud)."""
    return arn(partition, "iam", "", account_id, f"role/{role_name}")


def not_assumable(role_name: str, account_id: str, code: str, message: str) -> str:
    """The one gap of an account that could not be entered, e.g. "AuditpackReader not assumable in
    222222222222: AccessDenied (User: ... is not authorized to perform: sts:AssumeRole ...)"."""
    return f"{role_name} not assumable in {account_id}: {code} ({message})"
