"""Resolving a scope into targets: who the caller is, which accounts (Organizations), how each is entered
(the caller's own credentials or sts:AssumeRole) and which regions are enabled in it (ec2:DescribeRegions)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from core.errors import AuditpackError
from evidence.aws.calls import CallStats, describe_error, retry_attempts
from evidence.aws.scope import CollectionScope

# ec2:DescribeRegions opt-in statuses of regions that can be used.
ENABLED_OPT_IN = ("opt-in-not-required", "opted-in")


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


def role_arn(scope: CollectionScope, account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:role/{scope.role_name}"


def choose_regions(
    requested: tuple[str, ...], described: list[dict[str, Any]] | None, home: str
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(regions to collect with their opt-in status, regions refused with the reason).

    Without a request, every enabled region; with one, the requested regions that are enabled (a requested
    region that is not enabled, or unknown to the account, is refused and becomes a gap). When the region
    list could not be read, the requested regions (or the home region) are collected as they are.
    """
    if described is None:
        return [(region, "unknown") for region in (requested or (home,))], []
    status = {r["RegionName"]: r.get("OptInStatus", "opt-in-not-required") for r in described}
    if not requested:
        return sorted((name, s) for name, s in status.items() if s in ENABLED_OPT_IN), []
    chosen, refused = [], []
    for region in requested:
        if region not in status:
            refused.append((region, "the account does not know this region"))
        elif status[region] not in ENABLED_OPT_IN:
            refused.append((region, f"the region is not enabled for the account (opt-in status {status[region]})"))
        else:
            chosen.append((region, status[region]))
    return chosen, refused
