"""Snapshot checks, collected from moto and evaluated: manual RDS snapshots and EBS snapshots are not public, EBS
snapshots are encrypted. A refused read is an `error` for the snapshot it was about, never a pass."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from moto.core import enable_iam_authentication

from evidence.checks.types import FindingStatus
from evidence.store import EvidenceStore
from tests.evidence.collectors.harness import DB, REGION, collect, denied
from tests.moto_server import fake_aws_env
from tests.scenario import Collected

PASS, FAIL, NA, ERROR = FindingStatus.PASS, FindingStatus.FAIL, FindingStatus.NOT_APPLICABLE, FindingStatus.ERROR


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def _rds(session: boto3.Session) -> None:
    rds = session.client("rds")
    rds.create_db_instance(DBInstanceIdentifier="orders", **DB)
    for name in ("public", "private", "partner"):
        rds.create_db_snapshot(DBInstanceIdentifier="orders", DBSnapshotIdentifier=name)
    rds.modify_db_snapshot_attribute(DBSnapshotIdentifier="public", AttributeName="restore", ValuesToAdd=["all"])
    rds.modify_db_snapshot_attribute(
        DBSnapshotIdentifier="partner", AttributeName="restore", ValuesToAdd=["222222222222"]
    )
    rds.create_db_cluster(
        DBClusterIdentifier="ledger",
        Engine="aurora-postgresql",
        MasterUsername="admin",
        MasterUserPassword="pw-1234567",
    )
    rds.create_db_cluster_snapshot(DBClusterIdentifier="ledger", DBClusterSnapshotIdentifier="ledger-manual")


def test_rds_snapshot_sharing(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    _rds(aws)
    findings = collect(sqlite_store, aws, ["rds_snapshots"]).of("rds.snapshots_not_public")
    assert findings["public"].status == FAIL and "any AWS account may restore it" in findings["public"].reason
    assert findings["private"].status == PASS and findings["private"].reason == "not shared with any other account"
    assert findings["partner"].status == PASS and "222222222222" in findings["partner"].reason
    assert findings["ledger-manual"].status == PASS and findings["ledger-manual"].resource_type == "db-cluster-snapshot"
    assert len(findings["public"].evidence) == 2  # the snapshot and its attributes


def test_rds_snapshot_attributes_refused_are_errors(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    _rds(aws)
    auditor = denied(aws, "rds:DescribeDBSnapshotAttributes")
    with enable_iam_authentication():
        findings = collect(sqlite_store, auditor, ["rds_snapshots"]).of("rds.snapshots_not_public")
    for name in ("public", "private", "partner"):
        assert findings[name].status == ERROR
        assert "rds:DescribeDBSnapshotAttributes failed (AccessDenied" in findings[name].reason
    assert findings["ledger-manual"].status == PASS  # cluster snapshot attributes were still readable


def test_no_manual_snapshots_is_not_applicable_on_the_listing(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    findings = collect(sqlite_store, aws, ["rds_snapshots", "ebs_snapshots"]).findings
    by_check = {(f.check_id, f.resource_id.rsplit("/", 1)[-1]): f.status for f in findings if f.check_id in CHECKS}
    assert by_check == {
        ("rds.snapshots_not_public", "rds.db_snapshot"): NA,
        ("rds.snapshots_not_public", "rds.db_cluster_snapshot"): NA,
        ("ec2.ebs_snapshots_not_public", "ec2.snapshot"): NA,
        ("ec2.ebs_snapshots_encrypted", "ec2.snapshot"): NA,
    }


CHECKS = {"rds.snapshots_not_public", "ec2.ebs_snapshots_not_public", "ec2.ebs_snapshots_encrypted"}


def _ebs(session: boto3.Session) -> dict[str, str]:
    ec2 = session.client("ec2")
    plain = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=8)["VolumeId"]
    sealed = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=8, Encrypted=True)["VolumeId"]
    ids = {
        "public": ec2.create_snapshot(VolumeId=plain)["SnapshotId"],
        "shared": ec2.create_snapshot(VolumeId=plain)["SnapshotId"],
        "sealed": ec2.create_snapshot(VolumeId=sealed)["SnapshotId"],
    }
    ec2.modify_snapshot_attribute(
        SnapshotId=ids["public"], Attribute="createVolumePermission", OperationType="add", GroupNames=["all"]
    )
    ec2.modify_snapshot_attribute(
        SnapshotId=ids["shared"], Attribute="createVolumePermission", OperationType="add", UserIds=["222222222222"]
    )
    return ids


def test_ebs_snapshots_public_and_encrypted(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    ids = _ebs(aws)
    outcome = collect(sqlite_store, aws, ["ebs_snapshots"])
    public = outcome.of("ec2.ebs_snapshots_not_public")
    assert public[ids["public"]].status == FAIL and "any AWS account may create" in public[ids["public"]].reason
    assert public[ids["shared"]].status == PASS and "222222222222" in public[ids["shared"]].reason
    assert public[ids["sealed"]].status == PASS
    encrypted = outcome.of("ec2.ebs_snapshots_encrypted")
    assert encrypted[ids["sealed"]].status == PASS
    assert encrypted[ids["public"]].status == FAIL and "unencrypted" in encrypted[ids["public"]].reason


def test_ebs_snapshot_reads_refused_are_errors(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    ids = _ebs(aws)
    auditor = denied(aws, "ec2:DescribeSnapshotAttribute")
    with enable_iam_authentication():
        outcome = collect(sqlite_store, auditor, ["ebs_snapshots"])
    public = outcome.of("ec2.ebs_snapshots_not_public")
    assert {public[i].status for i in ids.values()} == {ERROR}
    assert "ec2:DescribeSnapshotAttribute failed (AccessDenied" in public[ids["public"]].reason
    assert outcome.of("ec2.ebs_snapshots_encrypted")[ids["sealed"]].status == PASS  # the listing was allowed

    auditor = denied(aws, "ec2:DescribeSnapshots")
    with enable_iam_authentication():
        outcome = collect(sqlite_store, auditor, ["ebs_snapshots"])
    for check_id in ("ec2.ebs_snapshots_not_public", "ec2.ebs_snapshots_encrypted"):
        [listing] = outcome.of(check_id).values()
        assert listing.status == ERROR and listing.resource_id.endswith(f"/{REGION}/ec2.snapshot")
        assert "ec2:DescribeSnapshots failed (AccessDenied" in listing.reason


def test_snapshots_in_the_scenario_estate(collected: Collected) -> None:
    ids = collected.estate.ids
    assert collected.finding("rds.snapshots_not_public", ":snapshot:orders-db-manual").status == PASS
    assert collected.finding("rds.snapshots_not_public", ":snapshot:legacy-db-export").status == FAIL
    assert collected.finding("rds.snapshots_not_public", ":cluster-snapshot:ledger-manual").status == PASS
    assert collected.finding("ec2.ebs_snapshots_not_public", ids["private_snapshot"]).status == PASS
    assert collected.finding("ec2.ebs_snapshots_not_public", ids["public_snapshot"]).status == FAIL
    assert collected.finding("ec2.ebs_snapshots_encrypted", ids["private_snapshot"]).status == PASS
    assert collected.finding("ec2.ebs_snapshots_encrypted", ids["public_snapshot"]).status == FAIL
    member = collected.finding("rds.snapshots_not_public", f"{collected.estate.member_b}/us-east-1/rds.db_snapshot")
    assert member.status == NA  # a complete listing that found no manual snapshot
