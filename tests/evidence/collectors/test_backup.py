"""The backup collectors' new reads, against moto: manual RDS DB and cluster snapshots with their `restore`
attribute, EBS snapshots the account owns with their createVolumePermission, DynamoDB table descriptions.
A refused read is a gap naming the resource; a refused listing leaves no evidence that anything is absent."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from moto.core import enable_iam_authentication

from evidence.collectors.context import LISTING
from evidence.store import EvidenceStore
from tests.evidence.collectors.harness import DB, REGION, collect, denied
from tests.moto_server import fake_aws_env


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def _rds_snapshots(session: boto3.Session) -> None:
    rds = session.client("rds")
    rds.create_db_instance(DBInstanceIdentifier="orders", **DB)
    for name in ("shared-with-all", "private"):
        rds.create_db_snapshot(DBInstanceIdentifier="orders", DBSnapshotIdentifier=name)
    rds.modify_db_snapshot_attribute(
        DBSnapshotIdentifier="shared-with-all", AttributeName="restore", ValuesToAdd=["all"]
    )
    rds.create_db_cluster(
        DBClusterIdentifier="ledger",
        Engine="aurora-postgresql",
        MasterUsername="admin",
        MasterUserPassword="not-a-secret-1",
    )
    rds.create_db_cluster_snapshot(DBClusterIdentifier="ledger", DBClusterSnapshotIdentifier="ledger-manual")


def test_manual_rds_snapshots_are_listed_with_who_may_restore_them(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    _rds_snapshots(aws)
    outcome = collect(sqlite_store, aws, ["rds_snapshots"])
    snapshots = outcome.evidence("rds.db_snapshot")
    # automated snapshots cannot be shared and are not listed: only the two manual ones
    assert sorted(arn.rsplit(":", 1)[-1] for arn in snapshots) == ["private", "shared-with-all"]
    stored = outcome.evidence("rds.db_snapshot_attributes")
    attributes = {arn.rsplit(":", 1)[-1]: r.payload for arn, r in stored.items()}
    restore = attributes["shared-with-all"]["DBSnapshotAttributesResult"]["DBSnapshotAttributes"]
    assert restore == [{"AttributeName": "restore", "AttributeValues": ["all"]}]
    cluster = outcome.evidence("rds.db_cluster_snapshot_attributes")
    assert [arn.rsplit(":", 1)[-1] for arn in cluster] == ["ledger-manual"]
    listings = {r.resource_type: r.payload["count"] for r in outcome.evidence(LISTING).values()}
    assert listings == {"rds.db_snapshot": 2, "rds.db_cluster_snapshot": 1}
    assert outcome.gaps() == []


def test_a_refused_snapshot_attribute_read_is_a_gap_for_that_snapshot(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    _rds_snapshots(aws)
    auditor = denied(aws, "rds:DescribeDBSnapshotAttributes")
    with enable_iam_authentication():
        outcome = collect(sqlite_store, auditor, ["rds_snapshots"])
    gaps = [(g.operation, g.error_code, g.kind, g.resource_id.rsplit(":", 1)[-1]) for g in outcome.gaps()]
    assert sorted(gaps) == [
        ("DescribeDBSnapshotAttributes", "AccessDenied", "rds.db_snapshot_attributes", name)
        for name in ("private", "shared-with-all")
    ]
    assert outcome.evidence("rds.db_snapshot_attributes") == {}
    assert len(outcome.evidence("rds.db_snapshot")) == 2  # the listing itself was allowed


def test_ebs_snapshots_of_the_account_with_their_create_volume_permission(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    ec2 = aws.client("ec2")
    volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=8)["VolumeId"]
    public = ec2.create_snapshot(VolumeId=volume, Description="public")["SnapshotId"]
    shared = ec2.create_snapshot(VolumeId=volume, Description="shared")["SnapshotId"]
    ec2.modify_snapshot_attribute(
        SnapshotId=public, Attribute="createVolumePermission", OperationType="add", GroupNames=["all"]
    )
    ec2.modify_snapshot_attribute(
        SnapshotId=shared, Attribute="createVolumePermission", OperationType="add", UserIds=["222222222222"]
    )
    outcome = collect(sqlite_store, aws, ["ebs_snapshots"])
    snapshots = outcome.evidence("ec2.snapshot")
    account = aws.client("sts").get_caller_identity()["Account"]
    assert set(snapshots) == {f"arn:aws:ec2:{REGION}:{account}:snapshot/{s}" for s in (public, shared)}
    assert all(r.payload["Encrypted"] is False for r in snapshots.values())
    permissions = {
        arn.rsplit("/", 1)[-1]: r.payload["CreateVolumePermissions"]
        for arn, r in outcome.evidence("ec2.snapshot_create_volume_permission").items()
    }
    assert permissions == {public: [{"Group": "all"}], shared: [{"UserId": "222222222222"}]}


def test_a_refused_snapshot_listing_is_a_gap_and_lists_nothing(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    ec2 = aws.client("ec2")
    ec2.create_snapshot(VolumeId=ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=8)["VolumeId"])
    auditor = denied(aws, "ec2:DescribeSnapshots")
    with enable_iam_authentication():
        outcome = collect(sqlite_store, auditor, ["ebs_snapshots"])
    assert [(g.operation, g.kind, g.resource_id) for g in outcome.gaps()] == [
        ("DescribeSnapshots", "ec2.snapshot", None)
    ]
    assert outcome.evidence(LISTING) == {}  # no listing: nothing may be proven absent


def test_dynamodb_tables_are_described(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    ddb = aws.client("dynamodb")
    key = aws.client("kms").create_key()["KeyMetadata"]["Arn"]
    common = {
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    ddb.create_table(TableName="owned", **common)
    ddb.create_table(
        TableName="cmk", SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key}, **common
    )
    outcome = collect(sqlite_store, aws, ["dynamodb"])
    tables = {arn.rsplit("/", 1)[-1]: r.payload for arn, r in outcome.evidence("dynamodb.table").items()}
    assert tables["owned"].get("SSEDescription") is None  # encrypted with an AWS owned key
    assert tables["cmk"]["SSEDescription"]["KMSMasterKeyArn"] == key
    auditor = denied(aws, "dynamodb:DescribeTable")
    with enable_iam_authentication():
        refused = collect(sqlite_store, auditor, ["dynamodb"])
    assert {(g.operation, g.kind) for g in refused.gaps()} == {("DescribeTable", "dynamodb.table")}
    assert refused.evidence("dynamodb.table") == {}
