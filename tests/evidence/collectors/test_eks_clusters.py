"""EKS clusters in the inventory collector: each listed cluster is described (logging, endpoint access), its CA
certificate left out; a refused description is a gap about that cluster."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from evidence.store import EvidenceStore
from tests.evidence.collectors.harness import REGION, evidence_of, refuse, run_collectors
from tests.moto_server import fake_aws_env

PRIVATE = {"subnetIds": ["subnet-1"], "endpointPublicAccess": False, "endpointPrivateAccess": True}


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def test_each_cluster_is_described(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    eks = aws.client("eks")
    logging = {"clusterLogging": [{"types": ["api", "audit"], "enabled": True}]}
    eks.create_cluster(
        name="prod", roleArn="arn:aws:iam::123456789012:role/eks", resourcesVpcConfig=PRIVATE, logging=logging
    )
    run = run_collectors(sqlite_store, aws, ["inventory"])
    [cluster] = evidence_of(sqlite_store, run, "eks.cluster")
    assert cluster.resource_id == f"arn:aws:eks:{REGION}:123456789012:cluster/prod"
    assert cluster.payload["logging"] == logging
    assert cluster.payload["resourcesVpcConfig"]["endpointPublicAccess"] is False
    assert "certificateAuthority" not in cluster.payload
    [listing] = [r for r in evidence_of(sqlite_store, run, "listing") if r.resource_type == "eks.cluster"]
    assert listing.payload["resource_ids"] == [cluster.resource_id]


def test_a_refused_description_is_a_gap_about_the_cluster(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    aws.client("eks").create_cluster(
        name="prod", roleArn="arn:aws:iam::123456789012:role/eks", resourcesVpcConfig=PRIVATE
    )
    refuse(aws, "eks.DescribeCluster")
    run = run_collectors(sqlite_store, aws, ["inventory"])
    assert evidence_of(sqlite_store, run, "eks.cluster") == []
    [gap] = sqlite_store.gaps(run.id)
    assert (gap.operation, gap.kind, gap.resource_id) == (
        "DescribeCluster",
        "eks.cluster",
        f"arn:aws:eks:{REGION}:123456789012:cluster/prod",
    )
