"""Containers: ECS clusters (inventoried only) and EKS clusters with their control-plane logging and API endpoint
access."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from auditpack.estate.target import Spec, Target

LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")


class EksCluster(Spec):
    name: str
    log_types: tuple[str, ...] = LOG_TYPES  # control-plane log types sent to CloudWatch Logs
    public_access_cidrs: tuple[str, ...] | None = None  # None: a private endpoint; else public to these CIDRs


def plant_ecs_cluster(target: Target, name: str) -> None:
    target.client("ecs").create_cluster(clusterName=name)
    target.count("ECS clusters")


def plant_eks_cluster(target: Target, cluster: EksCluster, *, role_arn: str, subnets: Sequence[str]) -> None:
    public = cluster.public_access_cidrs is not None
    access: dict[str, Any] = {"endpointPublicAccess": public, "endpointPrivateAccess": True}
    if public:
        access["publicAccessCidrs"] = list(cluster.public_access_cidrs or ())
    logging = {"clusterLogging": [{"types": list(cluster.log_types), "enabled": True}]} if cluster.log_types else None
    target.client("eks").create_cluster(
        name=cluster.name,
        roleArn=role_arn,
        resourcesVpcConfig={"subnetIds": list(subnets), **access},
        **({"logging": logging} if logging else {}),
    )
    target.count("EKS clusters")
