"""Types shared by checks (which produce findings) and frameworks (which consume them)."""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

# Service types of the shared responsibility model; the inventory counts resources of each.
SERVICE_TYPES: tuple[str, ...] = ("ec2", "rds", "lambda", "s3", "eks", "dynamodb", "ecs")


class FindingStatus(enum.StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"
    NOT_APPLICABLE = "not_applicable"
    ERROR = "error"  # the evidence the check needs is a gap (or unreadable): never a pass


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's verdict on one resource, with the evidence it rests on."""

    check_id: str
    status: FindingStatus
    account_id: str
    region: str  # "global" for account-wide services such as IAM
    resource_id: str  # the ARN where one exists, otherwise an id containing the resource name
    reason: str
    evidence: tuple[str, ...]  # sha256 of every payload the verdict rests on
    observed_at: datetime | None  # the oldest observation it rests on (None for an error with no evidence)
    owner: str | None = None
    resource_type: str = ""


@dataclass(frozen=True, slots=True)
class Remediation:
    console: str
    cli: str


@dataclass(frozen=True, slots=True)
class CheckMeta:
    """What a check is, as data (`<prefix>.yaml` beside the check's module); its function is the unit by the same id."""

    id: str
    title: str
    severity: Severity
    domain: str  # iam | encryption | logging | patching | network | backup | inventory
    service: str  # the AWS service it reads, e.g. "s3", "iam"
    service_type: str | None  # one of SERVICE_TYPES when the resources are of that type; None if account-wide
    description: str
    remediation: Remediation


@dataclass(frozen=True, slots=True)
class ServiceUsage:
    """Resources in use per (account, region, service type), from the inventory collector's evidence.

    unknown: (account, region, service type) whose listing failed (a gap): the count there is not known, and
    is not zero.
    """

    counts: dict[tuple[str, str, str], int]
    unknown: frozenset[tuple[str, str, str]] = frozenset()

    def in_use(self) -> frozenset[str]:
        """Service types with at least one resource anywhere in scope."""
        return frozenset(service for (_, _, service), count in self.counts.items() if count > 0)

    def for_accounts(self, accounts: Collection[str]) -> ServiceUsage:
        """The usage of some accounts only (a packet scoped to them)."""
        keep = set(accounts)
        return ServiceUsage(
            counts={key: count for key, count in self.counts.items() if key[0] in keep},
            unknown=frozenset(key for key in self.unknown if key[0] in keep),
        )

    def total(self, service: str) -> int:
        return sum(count for (_, _, kind), count in self.counts.items() if kind == service)
