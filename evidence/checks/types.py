"""Types shared by checks (which produce findings) and frameworks (which consume them)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from evidence.checks.status import FindingStatus as FindingStatus
from evidence.checks.status import Severity as Severity

# Service types of the shared responsibility model; the inventory counts resources of each.
SERVICE_TYPES: tuple[str, ...] = ("ec2", "rds", "lambda", "s3", "eks", "dynamodb", "ecs")
# Container services whose hosts are AWS's or the customer's depending on how the workloads run: on Fargate AWS
# runs and patches the hosts; on EC2 (ECS container instances or external hosts, EKS node groups and
# self-managed nodes) the customer does. The inventory records which; the responsibility model splits on it.
HOSTING: dict[str, tuple[str, ...]] = {"eks": ("ec2", "fargate"), "ecs": ("ec2", "fargate")}
# Keys of the responsibility model: the service types, and each container service per hosting ("ecs-fargate"),
# which falls back to the service's own entry. Canonical order (matrix columns).
RESPONSIBILITY_KEYS: tuple[str, ...] = tuple(
    key for service in SERVICE_TYPES for key in (service, *(f"{service}-{h}" for h in HOSTING.get(service, ())))
)


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
    hosting: for the container services of HOSTING, what hosts the workloads found per (account, region,
    service): "fargate" and/or "ec2". hosting_unknown: where a cluster's hosting could not be read (a gap);
    there it is not known, and is never assumed to be Fargate.
    """

    counts: dict[tuple[str, str, str], int]
    unknown: frozenset[tuple[str, str, str]] = frozenset()
    hosting: dict[tuple[str, str, str], frozenset[str]] = field(default_factory=dict)
    hosting_unknown: frozenset[tuple[str, str, str]] = frozenset()

    def in_use(self) -> frozenset[str]:
        """Service types with at least one resource anywhere in scope."""
        return frozenset(service for (_, _, service), count in self.counts.items() if count > 0)

    def responsibility_keys(self) -> frozenset[str]:
        """The responsibility model's keys for what is in use: each service type, except that a container
        service is split by its hosting ("ecs-fargate", "ecs-ec2"). The service's own key stays when the
        hosting of some of its clusters is unknown, or none of them runs anything: the catalog's entry for the
        service (the conservative one) then applies."""
        keys: set[str] = set()
        for service in self.in_use():
            if service not in HOSTING:
                keys.add(service)
                continue
            found = {h for (_, _, kind), hosts in self.hosting.items() if kind == service for h in hosts}
            keys |= {f"{service}-{h}" for h in found}
            if not found or any(kind == service for (_, _, kind) in self.hosting_unknown):
                keys.add(service)
        return frozenset(keys)

    def for_accounts(self, accounts: Collection[str]) -> ServiceUsage:
        """The usage of some accounts only (a packet scoped to them)."""
        keep = set(accounts)
        return ServiceUsage(
            counts={key: count for key, count in self.counts.items() if key[0] in keep},
            unknown=frozenset(key for key in self.unknown if key[0] in keep),
            hosting={key: hosts for key, hosts in self.hosting.items() if key[0] in keep},
            hosting_unknown=frozenset(key for key in self.hosting_unknown if key[0] in keep),
        )

    def total(self, service: str) -> int:
        return sum(count for (_, _, kind), count in self.counts.items() if kind == service)
