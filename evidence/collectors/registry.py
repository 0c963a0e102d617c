"""The collector registry: each collector is registered with the API operations it may call.

In the style of Cloud Custodian's resource `permissions`: the declarations are the single source of the
least-privilege IAM policy (`iam_policy()`), a test records every operation actually made under moto and fails
on any that is not declared, and `CollectorContext.call` refuses undeclared operations at run time.
"""

from __future__ import annotations

import enum
import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml

from evidence.aws.defaults import DEFAULT_PARTITION
from evidence.aws.partition import arn, partitions
from evidence.aws.scope import DEFAULT_ROLE_NAME, ScopeError
from evidence.diff.types import CHANGE_EVENTS

if TYPE_CHECKING:
    from evidence.collectors.context import CollectorContext

DOMAIN_MODULES = (
    "iam",
    "encryption",
    "logging",
    "monitoring",
    "patching",
    "vulnerabilities",
    "network",
    "edge",
    "backup",
    "inventory",
)


class Scope(enum.StrEnum):
    GLOBAL = "global"  # once per account (IAM, the S3 bucket list)
    REGIONAL = "regional"  # once per account and region


@dataclass(frozen=True, slots=True)
class Collector:
    name: str
    domain: str
    scope: Scope
    calls: frozenset[str]  # "client.Operation", e.g. "s3.GetBucketEncryption"
    produces: frozenset[str]  # the evidence kinds it records (or lists), e.g. "s3.bucket"
    fn: Callable[[CollectorContext], None] | None  # None for the orchestrator's own calls


_REGISTRY: dict[str, Collector] = {}

# Calls the orchestrator makes itself: who am I, which Organization and accounts, enter them, which regions, is a
# region refused as a whole (evidence/aws/regions.py PROBES), whose is what.
SCOPE = Collector(
    name="scope",
    domain="scope",
    scope=Scope.GLOBAL,
    calls=frozenset(
        {
            "sts.GetCallerIdentity",
            "organizations.DescribeOrganization",
            "organizations.ListAccounts",
            "sts.AssumeRole",
            "ec2.DescribeRegions",
            "ec2.DescribeVpcs",
            "logs.DescribeLogGroups",
        }
    ),
    produces=frozenset(
        {"collection.account", "collection.region", "organizations.account", "organizations.organization"}
    ),
    fn=None,
)
TAGS = Collector(
    name="tags",
    domain="owners",
    scope=Scope.REGIONAL,
    calls=frozenset({"resourcegroupstaggingapi.GetResources"}),
    produces=frozenset(),  # tags attribute owners; they are not stored
    fn=None,
)
# Who changed what changed since the previous run: CloudTrail's event history, looked up by the orchestrator once
# every collector has finished (evidence/changes/attribute.py).
CHANGES = Collector(
    name="change_events",
    domain="logging",
    scope=Scope.REGIONAL,
    calls=frozenset({"cloudtrail.LookupEvents"}),
    produces=frozenset({CHANGE_EVENTS}),
    fn=None,
)
# Calls made by the identity that runs auditpack only (reading the Organization from its management account or a
# delegated administrator, entering the other accounts), never in the accounts collected.
_CALLER_ONLY = frozenset({"organizations.DescribeOrganization", "organizations.ListAccounts", "sts.AssumeRole"})


def collector(
    name: str, *, domain: str, scope: Scope, calls: Iterable[str], produces: Iterable[str]
) -> Callable[[Callable[[CollectorContext], None]], Callable[[CollectorContext], None]]:
    """Register a collector function under `name`, with every API operation it may call and every evidence
    kind it may record (what checks can rely on it for; see tests/evidence/checks/test_kinds.py)."""
    declared = frozenset(calls)
    kinds = frozenset(produces)
    if not kinds:
        raise ValueError(f"collector {name}: declares no evidence kinds (produces=...)")
    for call in declared:
        client, _, operation = call.partition(".")
        if not client or not operation or not operation[0].isupper():
            raise ValueError(f"collector {name}: {call!r} is not 'client.Operation'")

    def register(fn: Callable[[CollectorContext], None]) -> Callable[[CollectorContext], None]:
        if name in _REGISTRY and _REGISTRY[name].fn is not fn:
            raise ValueError(f"collector {name!r} is registered twice")
        _REGISTRY[name] = Collector(name=name, domain=domain, scope=scope, calls=declared, produces=kinds, fn=fn)
        return fn

    return register


def collectors() -> dict[str, Collector]:
    """Every registered collector by name (importing the domain modules registers them)."""
    for module in DOMAIN_MODULES:
        importlib.import_module(f"evidence.collectors.{module}")
    return dict(sorted(_REGISTRY.items()))


def produced_kinds() -> frozenset[str]:
    """Every evidence kind a collection may record, including the orchestrator's scope records."""
    kinds: set[str] = set(SCOPE.produces | TAGS.produces | CHANGES.produces)
    for entry in collectors().values():
        kinds |= entry.produces
    return frozenset(kinds)


@cache
def inventory_only_kinds() -> dict[str, str]:
    """Kinds collected that no check reads, each with why it is collected (data: inventory_kinds.yaml)."""
    text = resources.files("evidence.collectors").joinpath("inventory_kinds.yaml").read_text("utf-8")
    return {str(kind): str(reason) for kind, reason in yaml.safe_load(text).items()}


def declared_calls() -> frozenset[str]:
    """Every operation auditpack may call, including the orchestrator's own."""
    calls: set[str] = set(SCOPE.calls | TAGS.calls | CHANGES.calls)
    for entry in collectors().values():
        calls |= entry.calls
    return frozenset(calls)


@cache
def _action_table() -> dict[str, Any]:
    text = resources.files("evidence.collectors").joinpath("iam_actions.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def iam_action(call: str) -> str | None:
    """The IAM action an operation needs (None for operations that need no permission)."""
    table = _action_table()
    if call in table["no_permission"]:
        return None
    if call in table["actions"]:
        return str(table["actions"][call])
    client, _, operation = call.partition(".")
    return f"{table['prefixes'].get(client, client)}:{operation}"


def _actions(calls: Iterable[str]) -> list[str]:
    return sorted({action for call in calls if (action := iam_action(call)) is not None})


def iam_policy(*, role_name: str = DEFAULT_ROLE_NAME, partition: str = DEFAULT_PARTITION) -> dict[str, Any]:
    """The least-privilege, read-only IAM policy generated from the collectors' declarations.

    The first statement is what the role in every collected account needs; the other two are needed only by
    the identity that runs `--org` or `--account` collections (list the Organization, assume `role_name`, whose
    ARN is in `partition`: "aws-us-gov" in GovCloud, "aws-cn" in China).
    """
    if partition not in partitions():
        raise ScopeError(f"unknown AWS partition {partition!r} (known: {', '.join(partitions())})")
    member_calls = declared_calls() - _CALLER_ONLY
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AuditpackReadOnlyCollection",
                "Effect": "Allow",
                "Action": _actions(member_calls),
                "Resource": "*",
            },
            {
                "Sid": "AuditpackListOrganizationAccounts",
                "Effect": "Allow",
                "Action": _actions({"organizations.DescribeOrganization", "organizations.ListAccounts"}),
                "Resource": "*",
            },
            {
                "Sid": "AuditpackAssumeMemberRole",
                "Effect": "Allow",
                "Action": _actions({"sts.AssumeRole"}),
                "Resource": arn(partition, "iam", "", "*", f"role/{role_name}"),
            },
        ],
    }
