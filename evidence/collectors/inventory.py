"""Inventory: which services are in use. EC2, RDS, Lambda, S3 and DynamoDB are listed by the collectors that
read them (their listings are the inventory's counts); this one lists EKS clusters and ECS clusters."""

from __future__ import annotations

from evidence.collectors.context import CollectorContext
from evidence.collectors.registry import Scope, collector


@collector(
    "inventory",
    produces=("ecs.cluster", "eks.cluster"),
    domain="inventory",
    scope=Scope.REGIONAL,
    calls=("eks.ListClusters", "ecs.ListClusters"),
)
def collect_inventory(ctx: CollectorContext) -> None:
    prefix = f"arn:aws:{{service}}:{ctx.region}:{ctx.account_id}:"
    eks = ctx.paginate("eks.ListClusters", kind="eks.cluster", result_key="clusters")
    if eks is not None:
        arn = prefix.format(service="eks") + "cluster/{}"
        ctx.listing(kind="eks.cluster", call="eks.ListClusters", resource_ids=[arn.format(n) for n in eks])
    ecs = ctx.paginate("ecs.ListClusters", kind="ecs.cluster", result_key="clusterArns")
    if ecs is not None:
        ctx.listing(kind="ecs.cluster", call="ecs.ListClusters", resource_ids=ecs)
