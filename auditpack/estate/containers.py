"""Containers, inventoried only: ECS clusters and EKS clusters."""

from __future__ import annotations

from collections.abc import Sequence

from auditpack.estate.target import Target


def plant_ecs_cluster(target: Target, name: str) -> None:
    target.client("ecs").create_cluster(clusterName=name)
    target.count("ECS clusters")


def plant_eks_cluster(target: Target, name: str, *, role_arn: str, subnets: Sequence[str]) -> None:
    target.client("eks").create_cluster(name=name, roleArn=role_arn, resourcesVpcConfig={"subnetIds": list(subnets)})
    target.count("EKS clusters")
