"""A bucket with S3 Object Lock enabled, in moto in-process: what every test of the S3 blob store starts from."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from moto import mock_aws

from tests.moto_server import fake_aws_env


@contextmanager
def locked_bucket(bucket: str) -> Iterator[Any]:
    """An S3 client (moto, fake credentials) with `bucket` created with Object Lock enabled."""
    with fake_aws_env(), mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
        yield client
