"""Which services are in use: counts per account, region and service type, from the collectors' listings, and
what hosts the container services' workloads (Fargate or EC2), from the inventory collector's hosting items."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from evidence.checks.types import HOSTING, SERVICE_TYPES, ServiceUsage
from evidence.store import EvidenceStore

# The evidence kind whose listing counts each service type's resources.
LISTED_KIND = {
    "ec2": "ec2.instance",
    "rds": "rds.db_instance",
    "lambda": "lambda.function",
    "s3": "s3.bucket",
    "eks": "eks.cluster",
    "dynamodb": "dynamodb.table",
    "ecs": "ecs.cluster",
}
_SERVICE_OF = {kind: service for service, kind in LISTED_KIND.items()}
if set(LISTED_KIND) != set(SERVICE_TYPES):  # pragma: no cover - a contract check at import
    raise RuntimeError("inventory.LISTED_KIND must cover every service type")
# The evidence kind recording each container cluster's hosting (evidence.collectors.inventory).
HOSTING_KIND = {"ecs": "ecs.cluster_hosting", "eks": "eks.cluster_hosting"}
if set(HOSTING_KIND) != set(HOSTING):  # pragma: no cover - a contract check at import
    raise RuntimeError("inventory.HOSTING_KIND must cover every hosted service type")
_FARGATE_PROVIDERS = frozenset({"FARGATE", "FARGATE_SPOT"})
# Every evidence kind service_usage reads (besides the run's gaps): what `evidence.period.usage_bases` compares.
USAGE_KINDS = ("s3.bucket", "listing", *HOSTING_KIND.values())


def service_usage(store: EvidenceStore, run_id: int) -> ServiceUsage:
    """Resources per (account, region, service type). S3 buckets count in their own region (in "global" when
    it could not be read). A listing that failed is reported in `unknown`, never as zero: a gap is never read
    as 'not in use'."""
    bucket_region = {(r.account_id, r.resource_id): r.region for r in store.iter_evidence(run_id, kinds=["s3.bucket"])}
    counts: Counter[tuple[str, str, str]] = Counter()
    for record in store.iter_evidence(run_id, kinds=["listing"]):
        service = _SERVICE_OF.get(record.resource_type)
        if service == "s3":
            for arn in record.payload.get("resource_ids", []):
                counts[(record.account_id, bucket_region.get((record.account_id, arn), record.region), service)] += 1
        elif service is not None:
            counts[(record.account_id, record.region, service)] += int(record.payload.get("count", 0))
    unknown = {
        (gap.account_id, gap.region, _SERVICE_OF[gap.kind])
        for gap in store.gaps(run_id)
        if gap.kind in _SERVICE_OF and gap.resource_id is None
    }
    hosting, hosting_unknown = _hosting(store, run_id)
    return ServiceUsage(
        counts=dict(counts), unknown=frozenset(unknown), hosting=hosting, hosting_unknown=hosting_unknown
    )


def _hosting(
    store: EvidenceStore, run_id: int
) -> tuple[dict[tuple[str, str, str], frozenset[str]], frozenset[tuple[str, str, str]]]:
    """Per (account, region, container service): the hosting of its clusters' workloads, and where a listed
    cluster has no hosting item (its reading failed, a gap): there the hosting is unknown."""
    clusters: dict[tuple[str, str, str], set[str]] = {}
    for record in store.iter_evidence(run_id, kinds=["listing"]):
        service = _SERVICE_OF.get(record.resource_type)
        if service in HOSTING:
            clusters[(record.account_id, record.region, service)] = set(record.payload.get("resource_ids", []))
    found: dict[tuple[str, str, str], set[str]] = {}
    read: dict[tuple[str, str, str], set[str]] = {}
    for service, kind in HOSTING_KIND.items():
        for record in store.iter_evidence(run_id, kinds=[kind]):
            key = (record.account_id, record.region, service)
            read.setdefault(key, set()).add(record.resource_id)
            found.setdefault(key, set()).update(hosts_of(service, record.payload))
    unknown = {key for key, arns in clusters.items() if arns - read.get(key, set())}
    return {key: frozenset(hosts) for key, hosts in found.items() if hosts}, frozenset(unknown)


def hosts_of(service: str, payload: Mapping[str, Any]) -> set[str]:
    """What hosts one cluster's workloads, from its hosting item: "fargate" (AWS's hosts) and/or "ec2" (the
    customer's: EC2 instances, ECS external instances, EKS node groups and self-managed nodes)."""
    if service == "eks":
        hosts = {"fargate"} if payload.get("fargateProfileNames") else set()
        return hosts | ({"ec2"} if payload.get("nodegroups") or payload.get("taggedInstanceIds") else set())
    hosts = {"ec2"} if payload.get("containerInstanceArns") else set()
    default = _providers(payload.get("defaultCapacityProviderStrategy") or [])
    for task in payload.get("tasks", []):
        hosts |= _launch(task.get("launchType")) or _providers([{"capacityProvider": task.get("capacityProviderName")}])
    for entry in payload.get("services", []):
        # without a launch type or strategy a service uses the cluster's default strategy, else the EC2 launch type
        hosts |= (
            _launch(entry.get("launchType"))
            or _providers(entry.get("capacityProviderStrategy") or [])
            or (default or {"ec2"})
        )
    return hosts


def _launch(launch_type: str | None) -> set[str]:
    if launch_type == "FARGATE":
        return {"fargate"}
    return {"ec2"} if launch_type in ("EC2", "EXTERNAL") else set()


def _providers(strategy: Iterable[Mapping[str, Any]]) -> set[str]:
    """A capacity provider strategy's hosting: FARGATE and FARGATE_SPOT are AWS's; any other provider is an Auto
    Scaling group of the customer's EC2 instances."""
    names = {item.get("capacityProvider") for item in strategy} - {None, ""}
    return {"fargate" if name in _FARGATE_PROVIDERS else "ec2" for name in names}
