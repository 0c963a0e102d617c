"""Inventory: which services are in use. EC2, RDS, Lambda, S3 and DynamoDB are listed by the collectors that
read them (their listings are the inventory's counts); this one lists EKS clusters (describing each one: its
control-plane logging and endpoint access, which checks judge) and ECS clusters, and records what hosts each
cluster's workloads, because the responsibility for the hosts depends on it: on Fargate AWS runs
and patches them, on EC2 (ECS container instances, EKS node groups and self-managed nodes) the customer does.

Evidence kinds (read by `evidence.inventory`, not by checks):
- `ecs.cluster_hosting`, one per ECS cluster: its default capacity provider strategy, the launch type or capacity
  provider strategy of each service, the launch type and capacity provider of each task, and its registered
  container instances (EC2 or external hosts);
- `eks.cluster_hosting`, one per EKS cluster: its managed node groups, its Fargate profiles, and the EC2
  instances tagged `kubernetes.io/cluster/<name>` (how self-managed nodes, which the EKS API does not list, are
  found).
A cluster whose hosting could not be read completely records a gap and no hosting item: its hosting is unknown,
never assumed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from evidence.collectors.context import CollectorContext
from evidence.collectors.registry import Scope, collector

# DescribeServices takes at most 10 services, DescribeTasks and DescribeClusters at most 100.
_SERVICES_PER_CALL = 10
_TASKS_PER_CALL = 100


def _batches(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


@collector(
    "inventory",
    produces=("ecs.cluster", "eks.cluster", "ecs.cluster_hosting", "eks.cluster_hosting"),
    domain="inventory",
    scope=Scope.REGIONAL,
    calls=(
        "eks.ListClusters",
        "eks.DescribeCluster",
        "eks.ListNodegroups",
        "eks.ListFargateProfiles",
        "ec2.DescribeInstances",
        "ecs.ListClusters",
        "ecs.DescribeClusters",
        "ecs.ListServices",
        "ecs.DescribeServices",
        "ecs.ListTasks",
        "ecs.DescribeTasks",
        "ecs.ListContainerInstances",
    ),
)
def collect_inventory(ctx: CollectorContext) -> None:
    eks = ctx.paginate("eks.ListClusters", kind="eks.cluster", result_key="clusters")
    if eks is not None:
        arn = ctx.arn("eks", "cluster/{}")
        ctx.listing(kind="eks.cluster", call="eks.ListClusters", resource_ids=[arn.format(n) for n in eks])
        for name in eks:
            _eks_cluster(ctx, name, arn.format(name))
        if eks:
            _eks_hosting(ctx, {name: arn.format(name) for name in eks})
    ecs = ctx.paginate("ecs.ListClusters", kind="ecs.cluster", result_key="clusterArns")
    if ecs is not None:
        ctx.listing(kind="ecs.cluster", call="ecs.ListClusters", resource_ids=ecs)
        if ecs:
            _ecs_hosting(ctx, ecs)


def _eks_cluster(ctx: CollectorContext, name: str, arn: str) -> None:
    answer = ctx.call("eks.DescribeCluster", kind="eks.cluster", resource_id=arn, name=name)
    if not isinstance(answer, dict):
        return
    # The cluster's CA certificate is public and large, and no check reads it.
    cluster = {key: value for key, value in answer["cluster"].items() if key != "certificateAuthority"}
    ctx.record(
        kind="eks.cluster", resource_type="cluster", resource_id=arn, payload=cluster, tags=cluster.get("tags") or {}
    )


def _eks_hosting(ctx: CollectorContext, clusters: dict[str, str]) -> None:
    kind = "eks.cluster_hosting"
    tag_keys = {f"kubernetes.io/cluster/{name}": name for name in clusters}
    reservations = ctx.paginate(
        "ec2.DescribeInstances",
        kind=kind,
        result_key="Reservations",
        Filters=[
            {"Name": "tag-key", "Values": sorted(tag_keys)},
            {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]},
        ],
    )
    if reservations is None:
        return  # the gap is recorded; without it self-managed nodes cannot be ruled out for any cluster
    nodes: dict[str, list[str]] = {name: [] for name in clusters}
    for reservation in reservations:
        for instance in reservation.get("Instances", []):
            for tag in instance.get("Tags", []):
                if tag.get("Key") in tag_keys:
                    nodes[tag_keys[tag["Key"]]].append(instance["InstanceId"])
    for name, arn in clusters.items():
        nodegroups = ctx.paginate(
            "eks.ListNodegroups", kind=kind, result_key="nodegroups", resource_id=arn, clusterName=name
        )
        profiles = ctx.paginate(
            "eks.ListFargateProfiles", kind=kind, result_key="fargateProfileNames", resource_id=arn, clusterName=name
        )
        if nodegroups is None or profiles is None:
            continue
        ctx.record(
            kind=kind,
            resource_type="eks.cluster",
            resource_id=arn,
            payload={
                "cluster": name,
                "nodegroups": sorted(nodegroups),
                "fargateProfileNames": sorted(profiles),
                "taggedInstanceIds": sorted(set(nodes[name])),
            },
            tag_arn=arn,
        )


def _ecs_hosting(ctx: CollectorContext, clusters: list[str]) -> None:
    kind = "ecs.cluster_hosting"
    defaults: dict[str, list[Any]] = {}
    for batch in _batches(clusters, _TASKS_PER_CALL):
        described = ctx.call("ecs.DescribeClusters", kind=kind, clusters=batch)
        if not isinstance(described, dict):
            return  # the gap is recorded; without the defaults no service's hosting can be resolved
        for cluster in described.get("clusters", []):
            defaults[cluster["clusterArn"]] = cluster.get("defaultCapacityProviderStrategy") or []
    for arn in clusters:
        services = _ecs_described(ctx, arn, "ecs.ListServices", "serviceArns", "ecs.DescribeServices", "services")
        tasks = _ecs_described(ctx, arn, "ecs.ListTasks", "taskArns", "ecs.DescribeTasks", "tasks")
        instances = ctx.paginate(
            "ecs.ListContainerInstances", kind=kind, result_key="containerInstanceArns", resource_id=arn, cluster=arn
        )
        if services is None or tasks is None or instances is None:
            continue
        ctx.record(
            kind=kind,
            resource_type="ecs.cluster",
            resource_id=arn,
            payload={
                "clusterArn": arn,
                "defaultCapacityProviderStrategy": defaults.get(arn, []),
                "services": [
                    {
                        "serviceArn": s.get("serviceArn"),
                        "launchType": s.get("launchType"),
                        "capacityProviderStrategy": s.get("capacityProviderStrategy") or [],
                    }
                    for s in services
                ],
                "tasks": [
                    {
                        "taskArn": t.get("taskArn"),
                        "launchType": t.get("launchType"),
                        "capacityProviderName": t.get("capacityProviderName"),
                    }
                    for t in tasks
                ],
                "containerInstanceArns": sorted(instances),
            },
            tag_arn=arn,
        )


def _ecs_described(
    ctx: CollectorContext, cluster: str, list_call: str, list_key: str, describe_call: str, describe_key: str
) -> list[dict[str, Any]] | None:
    """Every service (or task) of a cluster, described; None after a gap."""
    kind = "ecs.cluster_hosting"
    arns = ctx.paginate(list_call, kind=kind, result_key=list_key, resource_id=cluster, cluster=cluster)
    if arns is None:
        return None
    size = _SERVICES_PER_CALL if describe_call == "ecs.DescribeServices" else _TASKS_PER_CALL
    described: list[dict[str, Any]] = []
    for batch in _batches(arns, size):
        answer = ctx.call(describe_call, kind=kind, resource_id=cluster, cluster=cluster, **{describe_key: batch})
        if not isinstance(answer, dict):
            return None
        described.extend(answer.get(describe_key, []))
    return described
