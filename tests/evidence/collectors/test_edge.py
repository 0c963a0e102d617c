"""The load balancer collector's attribute read, against moto: access logging and where it goes, per load
balancer; a refused read is a gap for that load balancer."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from moto.core import enable_iam_authentication

from evidence.store import EvidenceStore
from tests.evidence.collectors.harness import REGION, collect, denied
from tests.moto_server import fake_aws_env


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def _load_balancer(session: boto3.Session, name: str) -> str:
    ec2 = session.client("ec2")
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    lb = session.client("elbv2").create_load_balancer(Name=name, Subnets=subnets, Scheme="internal")
    return str(lb["LoadBalancers"][0]["LoadBalancerArn"])


def test_load_balancer_attributes_are_recorded_per_load_balancer(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    logged, silent = _load_balancer(aws, "logged"), _load_balancer(aws, "silent")
    aws.client("elbv2").modify_load_balancer_attributes(
        LoadBalancerArn=logged,
        Attributes=[
            {"Key": "access_logs.s3.enabled", "Value": "true"},
            {"Key": "access_logs.s3.bucket", "Value": "lb-logs"},
            {"Key": "access_logs.s3.prefix", "Value": "web"},
        ],
    )
    outcome = collect(sqlite_store, aws, ["load_balancers"])
    attributes = {
        arn: {a["Key"]: a["Value"] for a in r.payload["Attributes"]}
        for arn, r in outcome.evidence("elbv2.load_balancer_attributes").items()
    }
    assert attributes[logged]["access_logs.s3.enabled"] == "true"
    assert attributes[logged]["access_logs.s3.bucket"] == "lb-logs"
    assert attributes[silent]["access_logs.s3.bucket"] == ""


def test_a_refused_attribute_read_is_a_gap_for_the_load_balancer(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    arn = _load_balancer(aws, "web")
    auditor = denied(aws, "elasticloadbalancing:DescribeLoadBalancerAttributes")
    with enable_iam_authentication():
        outcome = collect(sqlite_store, auditor, ["load_balancers"])
    assert [(g.operation, g.kind, g.resource_id) for g in outcome.gaps()] == [
        ("DescribeLoadBalancerAttributes", "elbv2.load_balancer_attributes", arn)
    ]
    assert set(outcome.evidence("elbv2.load_balancer")) == {arn}
