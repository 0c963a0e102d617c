"""S3: buckets (default encryption, TLS-only and public-read policies, public access block, versioning, tags,
server access logging, a lifecycle rule expiring objects) and the account-wide public access block."""

from __future__ import annotations

import json
from typing import Any, Literal

from auditpack.estate.target import Spec, Target, classified, owner_tags

ALL_BLOCKS = dict.fromkeys(("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True)


class Bucket(Spec):
    name: str
    region: str
    # AWS encrypts every new bucket with SSE-S3 since 2023; moto does not, so an estate says so explicitly.
    # None: no default encryption configured (what moto, unlike AWS, then reports).
    encryption: Literal["aws:kms", "AES256"] | None
    tls_only: bool = True  # a bucket policy denying requests without TLS
    block_public_access: bool = True
    public_read: bool = False  # a bucket policy letting anyone read its objects
    versioning: bool = True
    owner: str | None = None
    classification: str | None = None  # the DataClassification tag
    tags: dict[str, str] = {}
    kms_key: str | None = None  # with aws:kms, the alias of the customer-managed key (None: AWS managed aws/s3)
    log_delivery: bool = False  # its policy lets S3 server access logging write into it
    access_logs_to: str | None = None  # server access logs go to this bucket (same account and region, planted first)
    expire_days: int | None = None  # a lifecycle rule expiring every object after this many days
    expire_noncurrent_days: int | None = None  # ... and noncurrent versions this many days after replacement


def plant_account_public_access_block(target: Target) -> None:
    target.client("s3control").put_public_access_block(
        AccountId=target.account_id, PublicAccessBlockConfiguration=ALL_BLOCKS
    )


def plant_bucket(target: Target, bucket: Bucket) -> str:
    """The bucket, in its own region; its name."""
    s3 = target.client("s3", bucket.region)
    name = bucket.name
    if bucket.region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": bucket.region})
    if bucket.kms_key is not None and bucket.encryption != "aws:kms":
        raise ValueError(f"bucket {name}: a KMS key needs encryption aws:kms")
    if bucket.encryption is not None:
        default = {"SSEAlgorithm": bucket.encryption}
        if bucket.kms_key is not None:
            default["KMSMasterKeyID"] = f"alias/{bucket.kms_key}"  # S3 takes an alias; the key may come later
        s3.put_bucket_encryption(
            Bucket=name, ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": default}]}
        )
    statements = _policy_statements(bucket)
    if statements:
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    if bucket.block_public_access:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=ALL_BLOCKS)
    if bucket.versioning:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    tags = owner_tags(bucket.owner, **classified(bucket.classification), **bucket.tags)
    if tags:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags})
    if bucket.access_logs_to is not None:
        s3.put_bucket_logging(
            Bucket=name,
            BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": bucket.access_logs_to, "TargetPrefix": f"{name}/"}},
        )
    if bucket.expire_days is not None:
        rule = {"ID": "expire", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": bucket.expire_days}}
        if bucket.expire_noncurrent_days is not None:
            rule["NoncurrentVersionExpiration"] = {"NoncurrentDays": bucket.expire_noncurrent_days}
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [rule]})
    target.count("S3 buckets")
    return name


def _policy_statements(bucket: Bucket) -> list[dict[str, Any]]:
    resources = [f"arn:aws:s3:::{bucket.name}", f"arn:aws:s3:::{bucket.name}/*"]
    statements: list[dict[str, Any]] = []
    if bucket.log_delivery:
        # First: moto, checking that logging may write here, reads statements in order and stops at a "*" principal.
        statements.append(
            {
                "Sid": "S3ServerAccessLogs",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": resources[1],
            }
        )
    if bucket.tls_only:
        statements.append(
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": resources,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        )
    if bucket.public_read:
        statements.append(
            {
                "Sid": "PublicRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": resources[1],
            }
        )
    return statements
