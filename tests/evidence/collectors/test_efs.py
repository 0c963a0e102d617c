"""EFS file systems and their backup policies: "no backup policy" (PolicyNotFound) is a fact, a refused read a gap."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from evidence.store import EvidenceStore
from tests.evidence.collectors.harness import REGION, evidence_of, refuse, run_collectors
from tests.moto_server import fake_aws_env


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def test_file_systems_and_backup_policies(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    efs = aws.client("efs")
    backed = efs.create_file_system(
        CreationToken="a", Encrypted=True, Backup=True, Tags=[{"Key": "Owner", "Value": "data"}]
    )
    plain = efs.create_file_system(CreationToken="b")
    run = run_collectors(sqlite_store, aws, ["efs"])
    systems = {r.payload["FileSystemId"]: r for r in evidence_of(sqlite_store, run, "efs.file_system")}
    assert systems[backed["FileSystemId"]].payload["Encrypted"] is True
    assert systems[backed["FileSystemId"]].owner == "data"
    assert systems[plain["FileSystemId"]].payload["Encrypted"] is False
    policies = {r.resource_id: r.payload for r in evidence_of(sqlite_store, run, "efs.backup_policy")}
    assert policies[backed["FileSystemArn"]] == {"BackupPolicy": {"Status": "ENABLED"}}
    assert policies[plain["FileSystemArn"]]["NotFound"]["Code"] == "PolicyNotFound"
    [listing] = [r for r in evidence_of(sqlite_store, run, "listing") if r.resource_type == "efs.file_system"]
    assert listing.payload["count"] == 2


def test_a_refused_backup_policy_read_is_a_gap(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    arn = aws.client("efs").create_file_system(CreationToken="a")["FileSystemArn"]
    refuse(aws, "efs.DescribeBackupPolicy")
    run = run_collectors(sqlite_store, aws, ["efs"])
    assert evidence_of(sqlite_store, run, "efs.backup_policy") == []
    assert [(g.operation, g.kind, g.resource_id) for g in sqlite_store.gaps(run.id)] == [
        ("DescribeBackupPolicy", "efs.backup_policy", arn)
    ]
