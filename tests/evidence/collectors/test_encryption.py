"""The encryption collectors' new reads, against moto: each bucket's server access logging and lifecycle rules,
the region's KMS aliases, RDS DB clusters. "Not configured" answers are facts; refusals are gaps."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from moto.core import enable_iam_authentication

from evidence.collectors.context import LISTING
from evidence.store import EvidenceStore
from tests.evidence.collectors.harness import REGION, collect, denied, log_delivery_policy
from tests.moto_server import fake_aws_env

EXPIRE = {"ID": "expire", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 400}}


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def _buckets(session: boto3.Session) -> None:
    s3 = session.client("s3")
    for name in ("app-data", "access-logs"):
        s3.create_bucket(Bucket=name)
    s3.put_bucket_policy(Bucket="access-logs", Policy=json.dumps(log_delivery_policy("access-logs")))
    s3.put_bucket_logging(
        Bucket="app-data",
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "access-logs", "TargetPrefix": "app-data/"}},
    )
    s3.put_bucket_lifecycle_configuration(Bucket="access-logs", LifecycleConfiguration={"Rules": [EXPIRE]})


def test_bucket_logging_and_lifecycle_are_recorded_as_aws_answers(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    _buckets(aws)
    outcome = collect(sqlite_store, aws, ["s3"])
    logging = {arn.rsplit(":", 1)[-1]: r.payload for arn, r in outcome.evidence("s3.bucket_logging").items()}
    assert logging["app-data"]["LoggingEnabled"] == {"TargetBucket": "access-logs", "TargetPrefix": "app-data/"}
    assert "LoggingEnabled" not in logging["access-logs"]  # no logging configured: AWS answers without it
    lifecycle = {arn.rsplit(":", 1)[-1]: r.payload for arn, r in outcome.evidence("s3.bucket_lifecycle").items()}
    assert lifecycle["access-logs"]["Rules"] == [EXPIRE]
    assert lifecycle["app-data"]["NotFound"]["Code"] == "NoSuchLifecycleConfiguration"  # a fact, not a gap
    assert outcome.gaps() == []


def test_refused_logging_and_lifecycle_reads_are_gaps_per_bucket(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    _buckets(aws)
    auditor = denied(aws, "s3:GetBucketLogging", "s3:GetLifecycleConfiguration")
    with enable_iam_authentication():
        outcome = collect(sqlite_store, auditor, ["s3"])
    gaps = {(g.operation, g.kind, g.resource_id, g.error_code) for g in outcome.gaps()}
    assert gaps == {
        (operation, kind, f"arn:aws:s3:::{bucket}", "AccessDenied")
        for operation, kind in (
            ("GetBucketLogging", "s3.bucket_logging"),
            ("GetBucketLifecycleConfiguration", "s3.bucket_lifecycle"),
        )
        for bucket in ("app-data", "access-logs")
    }
    assert outcome.evidence("s3.bucket_logging") == {} and outcome.evidence("s3.bucket_lifecycle") == {}


def test_kms_aliases_are_one_item_per_region(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    kms = aws.client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/app-data", TargetKeyId=key)
    outcome = collect(sqlite_store, aws, ["kms"])
    [aliases] = outcome.evidence("kms.aliases").values()
    by_name = {a["AliasName"]: a.get("TargetKeyId") for a in aliases.payload["Aliases"]}
    assert by_name["alias/app-data"] == key
    assert "alias/aws/s3" in by_name  # the reserved names of AWS-managed keys


def test_rds_clusters_are_listed_and_recorded(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    aws.client("rds").create_db_cluster(
        DBClusterIdentifier="ledger",
        Engine="aurora-postgresql",
        MasterUsername="admin",
        MasterUserPassword="not-a-secret-1",
        EnableCloudwatchLogsExports=["postgresql"],
    )
    outcome = collect(sqlite_store, aws, ["rds"])
    [cluster] = outcome.evidence("rds.db_cluster").values()
    assert cluster.payload["EnabledCloudwatchLogsExports"] == ["postgresql"]
    listings = {r.resource_type: r.payload["resource_ids"] for r in outcome.evidence(LISTING).values()}
    assert listings["rds.db_cluster"] == [cluster.resource_id]
