"""The inventory records what hosts each container cluster's workloads (Fargate or EC2), collected from moto, and
service usage splits ECS and EKS by it; a cluster whose hosting could not be read is unknown, never Fargate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.authorization import enable_iam_authentication

from evidence.aws.scope import CollectionScope
from evidence.inventory import hosts_of, service_usage
from evidence.orchestrator import collect
from evidence.store import EvidenceStore
from tests.moto_server import fake_aws_env

REGION = "eu-west-1"


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def _containers(s: boto3.Session) -> str:
    """ECS: 'web' runs a Fargate service and task, 'hosts' has an EC2 container instance, 'idle' runs nothing.
    EKS: 'serverless' has a Fargate profile, 'nodes' a managed node group, 'diy' a self-managed (tagged) node."""
    account = s.client("sts").get_caller_identity()["Account"]
    ec2, ecs, eks = s.client("ec2"), s.client("ecs"), s.client("eks")
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    group = ec2.describe_security_groups()["SecurityGroups"][0]["GroupId"]
    network = {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}}
    image = "ami-12345678"  # moto accepts any AMI id (no AMIs are loaded in these tests)
    for name in ("web", "hosts", "idle"):
        ecs.create_cluster(clusterName=name)
    ecs.register_task_definition(
        family="web",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "web", "image": "nginx", "memory": 512}],
    )
    ecs.create_service(
        cluster="web", serviceName="web", taskDefinition="web", desiredCount=1, launchType="FARGATE",
        networkConfiguration=network,
    )  # fmt: skip
    ecs.run_task(cluster="web", taskDefinition="web", launchType="FARGATE", networkConfiguration=network)
    host = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ecs.register_container_instance(
        cluster="hosts", instanceIdentityDocument=json.dumps({"instanceId": host, "region": REGION})
    )
    role = f"arn:aws:iam::{account}:role/eks"
    for name in ("serverless", "nodes", "diy"):
        eks.create_cluster(name=name, roleArn=role, resourcesVpcConfig={"subnetIds": [subnet]})
    eks.create_fargate_profile(
        clusterName="serverless", fargateProfileName="default", podExecutionRoleArn=role,
        selectors=[{"namespace": "default"}],
    )  # fmt: skip
    eks.create_nodegroup(clusterName="nodes", nodegroupName="general", nodeRole=role, subnets=[subnet])
    ec2.run_instances(
        ImageId=image,
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "kubernetes.io/cluster/diy", "Value": "owned"}]}
        ],
    )
    return account


def _collect(session: boto3.Session, store: EvidenceStore) -> int:
    scope = CollectionScope(session=session, regions=(REGION,), max_attempts=1)
    return collect(store, scope, trigger="cli", requested_by="tests").id


def _hosting_items(store: EvidenceStore, run_id: int, kind: str) -> dict[str, dict[str, Any]]:
    return {item.resource_id.rsplit("/", 1)[-1]: item.payload for item in store.iter_evidence(run_id, kinds=[kind])}


def test_each_cluster_records_what_hosts_its_workloads(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    account = _containers(aws)
    run_id = _collect(aws, sqlite_store)
    ecs = _hosting_items(sqlite_store, run_id, "ecs.cluster_hosting")
    assert set(ecs) == {"web", "hosts", "idle"}
    assert [s["launchType"] for s in ecs["web"]["services"]] == ["FARGATE"]
    assert {t["launchType"] for t in ecs["web"]["tasks"]} == {"FARGATE"}
    assert len(ecs["hosts"]["containerInstanceArns"]) == 1
    assert (ecs["idle"]["services"], ecs["idle"]["tasks"], ecs["idle"]["containerInstanceArns"]) == ([], [], [])
    eks = _hosting_items(sqlite_store, run_id, "eks.cluster_hosting")
    assert eks["serverless"]["fargateProfileNames"] == ["default"] and eks["serverless"]["nodegroups"] == []
    assert eks["nodes"]["nodegroups"] == ["general"]
    assert len(eks["diy"]["taggedInstanceIds"]) == 1 and eks["diy"]["nodegroups"] == []
    hosts = {name: hosts_of("ecs", payload) for name, payload in ecs.items()}
    hosts |= {name: hosts_of("eks", payload) for name, payload in eks.items()}
    assert hosts == {
        "web": {"fargate"},
        "hosts": {"ec2"},
        "idle": set(),  # nothing runs there: no host to be responsible for
        "serverless": {"fargate"},
        "nodes": {"ec2"},
        "diy": {"ec2"},  # self-managed nodes are found by their cluster tag, not by the EKS API
    }

    usage = service_usage(sqlite_store, run_id)
    assert usage.hosting == {
        (account, REGION, "ecs"): frozenset({"ec2", "fargate"}),
        (account, REGION, "eks"): frozenset({"ec2", "fargate"}),
    }
    assert usage.hosting_unknown == frozenset()
    assert {"ecs-ec2", "ecs-fargate", "eks-ec2", "eks-fargate"} <= usage.responsibility_keys()
    assert not {"ecs", "eks"} & usage.responsibility_keys()  # every cluster's hosting is known


def test_a_cluster_whose_hosting_cannot_be_read_is_unknown(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    account = _containers(aws)
    iam = aws.client("iam")
    iam.create_user(UserName="reader")
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "ecs:ListContainerInstances", "Resource": "*"},
        ],
    }
    iam.put_user_policy(UserName="reader", PolicyName="read", PolicyDocument=json.dumps(document))
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    with enable_iam_authentication():
        reader = boto3.Session(
            aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], region_name=REGION
        )
        run_id = _collect(reader, sqlite_store)
    gaps = {(g.operation, g.kind, g.resource_id) for g in sqlite_store.gaps(run_id) if g.service == "ecs"}
    assert {(operation, kind) for operation, kind, _ in gaps} == {("ListContainerInstances", "ecs.cluster_hosting")}
    assert len(gaps) == 3  # one per cluster, naming it
    assert _hosting_items(sqlite_store, run_id, "ecs.cluster_hosting") == {}
    usage = service_usage(sqlite_store, run_id)
    assert (account, REGION, "ecs") in usage.hosting_unknown
    # ECS falls back to its own entry (the customer-run case), even though a Fargate service was seen
    keys = usage.responsibility_keys()
    assert "ecs" in keys and not {"ecs-fargate", "ecs-ec2"} & keys


@pytest.mark.parametrize(
    ("payload", "hosts"),
    [
        ({"services": [{"launchType": "EXTERNAL"}]}, {"ec2"}),  # ECS Anywhere: the customer's own servers
        ({"services": [{"capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT"}]}]}, {"fargate"}),
        ({"services": [{"capacityProviderStrategy": [{"capacityProvider": "asg-provider"}]}]}, {"ec2"}),
        (  # no launch type or strategy of its own: the cluster's default strategy decides
            {"defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE"}], "services": [{}]},
            {"fargate"},
        ),
        ({"services": [{}]}, {"ec2"}),  # and without a default, ECS uses the EC2 launch type
        ({"tasks": [{"capacityProviderName": "FARGATE"}, {"launchType": "EC2"}]}, {"fargate", "ec2"}),
    ],
)
def test_ecs_launch_types_and_capacity_providers(payload: dict[str, Any], hosts: set[str]) -> None:
    assert hosts_of("ecs", payload) == hosts
