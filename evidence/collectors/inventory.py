"""Inventory: which services are in use. EC2, RDS, Lambda, S3 and DynamoDB are listed by the collectors that
read them (their listings are the inventory's counts); this one lists EKS clusters (and reads each cluster's
control-plane logging and endpoint access) and ECS clusters."""

from __future__ import annotations

from evidence.collectors.context import CollectorContext
from evidence.collectors.registry import Scope, collector


@collector(
    "inventory",
    produces=("ecs.cluster", "eks.cluster"),
    domain="inventory",
    scope=Scope.REGIONAL,
    calls=("eks.ListClusters", "eks.DescribeCluster", "ecs.ListClusters"),
)
def collect_inventory(ctx: CollectorContext) -> None:
    prefix = f"arn:aws:{{service}}:{ctx.region}:{ctx.account_id}:"
    eks = ctx.paginate("eks.ListClusters", kind="eks.cluster", result_key="clusters")
    if eks is not None:
        arn = prefix.format(service="eks") + "cluster/{}"
        ctx.listing(kind="eks.cluster", call="eks.ListClusters", resource_ids=[arn.format(n) for n in eks])
        for name in eks:
            _eks_cluster(ctx, name, arn.format(name))
    ecs = ctx.paginate("ecs.ListClusters", kind="ecs.cluster", result_key="clusterArns")
    if ecs is not None:
        ctx.listing(kind="ecs.cluster", call="ecs.ListClusters", resource_ids=ecs)


def _eks_cluster(ctx: CollectorContext, name: str, arn: str) -> None:
    answer = ctx.call("eks.DescribeCluster", kind="eks.cluster", resource_id=arn, name=name)
    if not isinstance(answer, dict):
        return
    # The cluster's CA certificate is public and large, and no check reads it.
    cluster = {key: value for key, value in answer["cluster"].items() if key != "certificateAuthority"}
    ctx.record(
        kind="eks.cluster",
        resource_type="cluster",
        resource_id=arn,
        payload=cluster,
        tags=cluster.get("tags") or {},
    )
