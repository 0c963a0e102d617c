"""Containers: ECS clusters (inventoried only) with the Fargate services they run, and EKS clusters with their
control-plane logging, API endpoint access and what hosts their pods (managed node groups, Fargate profiles): the
inventory splits ECS's and EKS's shared-responsibility rows by that hosting."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from auditpack.estate.target import Spec, Target

LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")


class EksCluster(Spec):
    name: str
    log_types: tuple[str, ...] = LOG_TYPES  # control-plane log types sent to CloudWatch Logs
    public_access_cidrs: tuple[str, ...] | None = None  # None: a private endpoint; else public to these CIDRs
    # What hosts its pods (planted by plant_eks_hosting, after the cluster): a managed node group (EC2 instances
    # the customer patches) and/or a Fargate profile (AWS's hosts). None: nothing runs on the cluster.
    nodegroup: str | None = None
    fargate_profile: str | None = None


class FargateService(Spec):
    """An ECS service running on Fargate in `cluster` (with one task), so the inventory reads a FARGATE launch type."""

    cluster: str
    name: str


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


def _awsvpc(target: Target) -> dict[str, dict[str, list[str]]]:
    ec2 = target.client("ec2")
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    group = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]
    return {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}}


def plant_fargate_service(
    target: Target,
    cluster: str,
    service: str,
    *,
    subnets: Sequence[str] = (),
    security_groups: Sequence[str] = (),
    run_task: bool = True,
) -> None:
    """A Fargate task definition, a service of it and (with `run_task`) one running task in `cluster` (an ECS
    cluster whose workloads AWS hosts, so the inventory reads a launch type of FARGATE from the service and the
    task). Without `subnets`, the region's first subnet and the default VPC's default security group. moto starts
    no task for a service, and can start one only in a VPC with DNS hostnames on (as default VPCs have them)."""
    ecs = target.client("ecs")
    network = (
        {"awsvpcConfiguration": {"subnets": list(subnets), "securityGroups": list(security_groups)}}
        if subnets
        else _awsvpc(target)
    )
    ecs.register_task_definition(
        family=service,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": service, "image": f"{service}:1", "memory": 512}],
    )
    ecs.create_service(
        cluster=cluster,
        serviceName=service,
        taskDefinition=service,
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=network,
    )
    if run_task:
        ecs.run_task(cluster=cluster, taskDefinition=service, launchType="FARGATE", networkConfiguration=network)
    target.count("ECS Fargate services")


def plant_eks_hosting(
    target: Target, cluster: str, *, role_arn: str, nodegroup: str | None = None, fargate_profile: str | None = None
) -> None:
    """The hosts of an EKS cluster's workloads: a managed node group (EC2, the customer patches) and/or a Fargate
    profile (AWS hosts the pods); `role_arn` is what the nodes, or the pods, run as."""
    eks = target.client("eks")
    subnets = [target.client("ec2").describe_subnets()["Subnets"][0]["SubnetId"]]
    if nodegroup:
        eks.create_nodegroup(clusterName=cluster, nodegroupName=nodegroup, nodeRole=role_arn, subnets=subnets)
        target.count("EKS managed node groups")
    if fargate_profile:
        eks.create_fargate_profile(
            clusterName=cluster,
            fargateProfileName=fargate_profile,
            podExecutionRoleArn=role_arn,
            selectors=[{"namespace": fargate_profile}],
        )
        target.count("EKS Fargate profiles")
