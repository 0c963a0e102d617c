"""A bucket in another region than the one collection runs from is read through a client for its own region:
S3 answers a bucket's configuration at the bucket's regional endpoint. moto's ListBuckets gives no BucketRegion,
so the region comes from GetBucketLocation, as it does for callers whose ListBuckets answer lacks it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from moto import mock_aws

from evidence.store import EvidenceStore
from tests.evidence.collectors.harness import REGION, run_collectors
from tests.moto_server import fake_aws_env

SSE_S3 = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def test_a_bucket_in_another_region_is_read_by_a_client_for_that_region(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="home-bucket")
    s3.create_bucket(Bucket="dublin-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_bucket_encryption(
        Bucket="dublin-bucket",
        ServerSideEncryptionConfiguration=SSE_S3,
    )
    hosts: dict[tuple[str, str], set[str]] = {}

    def seen(request: Any, operation_name: str, **_: Any) -> None:
        bucket = "dublin-bucket" if "dublin-bucket" in request.url else "home-bucket"
        hosts.setdefault((bucket, operation_name), set()).add(urlsplit(request.url).hostname or "")

    aws.events.register("request-created.s3", seen)
    run = run_collectors(sqlite_store, aws, ["s3"], region=REGION)

    for operation in ("GetBucketEncryption", "GetBucketPolicy", "GetBucketVersioning", "GetBucketLogging"):
        assert hosts[("dublin-bucket", operation)] == {"dublin-bucket.s3.eu-west-1.amazonaws.com"}
        assert hosts[("home-bucket", operation)] == {"home-bucket.s3.amazonaws.com"}
    assert ("dublin-bucket", "GetBucketLocation") in hosts  # asked once, from the home region
    buckets = {r.resource_id: r for r in sqlite_store.iter_evidence(run.id, kinds={"s3.bucket"})}
    assert buckets["arn:aws:s3:::dublin-bucket"].region == "eu-west-1"
    assert buckets["arn:aws:s3:::dublin-bucket"].payload["BucketRegion"] == "eu-west-1"
    assert buckets["arn:aws:s3:::home-bucket"].region == "us-east-1"
    [encryption] = [
        r for r in sqlite_store.iter_evidence(run.id, kinds={"s3.bucket_encryption"}) if "dublin" in r.resource_id
    ]
    assert encryption.region == "eu-west-1"
    assert encryption.payload["ServerSideEncryptionConfiguration"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]
    assert sqlite_store.gaps(run.id) == []
