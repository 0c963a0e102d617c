"""Encryption at rest and in transit: S3 buckets (global list, per-bucket settings), EBS, EFS (with its backup
policy), RDS, KMS (keys, aliases)."""

from __future__ import annotations

import json
from typing import Any

from evidence.collectors.context import GLOBAL, Absent, CollectorContext, setting_id
from evidence.collectors.registry import Scope, collector


def _payload(answer: dict[str, Any] | Absent) -> dict[str, Any]:
    return answer.payload() if isinstance(answer, Absent) else answer


@collector(
    "s3",
    produces=(
        "s3.account_public_access_block",
        "s3.bucket",
        "s3.bucket_encryption",
        "s3.bucket_policy",
        "s3.bucket_public_access_block",
        "s3.bucket_versioning",
        "s3.bucket_logging",
        "s3.bucket_lifecycle",
    ),
    domain="encryption",
    scope=Scope.GLOBAL,
    calls=(
        "s3.ListBuckets",
        "s3.GetBucketLocation",
        "s3.GetBucketTagging",
        "s3.GetBucketEncryption",
        "s3.GetBucketPolicy",
        "s3.GetPublicAccessBlock",
        "s3.GetBucketVersioning",
        "s3.GetBucketLogging",
        "s3.GetBucketLifecycleConfiguration",
        "s3control.GetPublicAccessBlock",
    ),
)
def collect_s3(ctx: CollectorContext) -> None:
    ctx.setting(
        "s3control.GetPublicAccessBlock",
        kind="s3.account_public_access_block",
        resource_type="account-public-access-block",
        name="s3-account-public-access-block",
        absent={"NoSuchPublicAccessBlockConfiguration"},
        AccountId=ctx.account_id,
    )
    # A page size makes ListBuckets paginate, and paginated answers carry each bucket's region (BucketRegion),
    # sparing a GetBucketLocation per bucket.
    buckets = ctx.paginate(
        "s3.ListBuckets", kind="s3.bucket", result_key="Buckets", PaginationConfig={"PageSize": 1000}
    )
    if buckets is None:
        return
    ctx.listing(kind="s3.bucket", call="s3.ListBuckets", resource_ids=[f"arn:aws:s3:::{b['Name']}" for b in buckets])
    for bucket in buckets:
        ctx.spawn(_bucket, ctx, bucket)


def _bucket_region(ctx: CollectorContext, bucket: dict[str, Any], arn: str) -> str | None:
    if bucket.get("BucketRegion"):
        return str(bucket["BucketRegion"])
    answer = ctx.call("s3.GetBucketLocation", kind="s3.bucket", resource_id=arn, Bucket=bucket["Name"])
    if not isinstance(answer, dict):
        return None
    # us-east-1 answers null; the legacy "EU" constraint means eu-west-1.
    constraint = answer.get("LocationConstraint") or "us-east-1"
    return "eu-west-1" if constraint == "EU" else str(constraint)


def _bucket(ctx: CollectorContext, bucket: dict[str, Any]) -> None:
    name = bucket["Name"]
    arn = f"arn:aws:s3:::{name}"
    region = _bucket_region(ctx, bucket, arn)
    where = region or GLOBAL
    api = region or ctx.api_region
    common = {"resource_id": arn, "region": api, "gap_region": where}
    tagging = ctx.call("s3.GetBucketTagging", kind="s3.bucket", absent={"NoSuchTagSet"}, Bucket=name, **common)
    tags = tagging.get("TagSet", []) if isinstance(tagging, dict) else ([] if isinstance(tagging, Absent) else None)
    record = {"resource_type": "bucket", "resource_id": arn, "region": where, "tags": tags}
    ctx.record(kind="s3.bucket", payload={**bucket, "BucketRegion": region, "Tags": tags}, **record)

    encryption = ctx.call(
        "s3.GetBucketEncryption",
        kind="s3.bucket_encryption",
        absent={"ServerSideEncryptionConfigurationNotFoundError"},
        Bucket=name,
        **common,
    )
    if encryption is not None:
        ctx.record(kind="s3.bucket_encryption", payload=_payload(encryption), **record)

    policy = ctx.call(
        "s3.GetBucketPolicy", kind="s3.bucket_policy", absent={"NoSuchBucketPolicy"}, Bucket=name, **common
    )
    if isinstance(policy, dict):
        try:
            policy = {"Policy": json.loads(policy["Policy"])}
        except (TypeError, ValueError):
            policy = {"Policy": policy.get("Policy"), "Unparsable": True}
    if policy is not None:
        ctx.record(kind="s3.bucket_policy", payload=_payload(policy), **record)

    block = ctx.call(
        "s3.GetPublicAccessBlock",
        kind="s3.bucket_public_access_block",
        absent={"NoSuchPublicAccessBlockConfiguration"},
        Bucket=name,
        **common,
    )
    if block is not None:
        ctx.record(kind="s3.bucket_public_access_block", payload=_payload(block), **record)

    # A bucket whose versioning was never configured answers without a Status: stored as AWS said it.
    versioning = ctx.call("s3.GetBucketVersioning", kind="s3.bucket_versioning", Bucket=name, **common)
    if versioning is not None:
        ctx.record(kind="s3.bucket_versioning", payload=_payload(versioning), **record)

    # A bucket without server access logging answers with no LoggingEnabled: stored as AWS said it.
    logging = ctx.call("s3.GetBucketLogging", kind="s3.bucket_logging", Bucket=name, **common)
    if logging is not None:
        ctx.record(kind="s3.bucket_logging", payload=_payload(logging), **record)

    lifecycle = ctx.call(
        "s3.GetBucketLifecycleConfiguration",
        kind="s3.bucket_lifecycle",
        absent={"NoSuchLifecycleConfiguration"},
        Bucket=name,
        **common,
    )
    if lifecycle is not None:
        ctx.record(kind="s3.bucket_lifecycle", payload=_payload(lifecycle), **record)


@collector(
    "ebs",
    produces=("ec2.ebs_encryption_by_default", "ec2.volume"),
    domain="encryption",
    scope=Scope.REGIONAL,
    calls=("ec2.GetEbsEncryptionByDefault", "ec2.DescribeVolumes"),
)
def collect_ebs(ctx: CollectorContext) -> None:
    ctx.setting(
        "ec2.GetEbsEncryptionByDefault",
        kind="ec2.ebs_encryption_by_default",
        resource_type="ebs-encryption-by-default",
        name="ebs-encryption-by-default",
    )
    volumes = ctx.paginate("ec2.DescribeVolumes", kind="ec2.volume", result_key="Volumes")
    if volumes is None:
        return
    arns = []
    for volume in volumes:
        arn = f"arn:aws:ec2:{ctx.region}:{ctx.account_id}:volume/{volume['VolumeId']}"
        arns.append(arn)
        ctx.record(
            kind="ec2.volume", resource_type="volume", resource_id=arn, payload=volume, tags=volume.get("Tags") or []
        )
    ctx.listing(kind="ec2.volume", call="ec2.DescribeVolumes", resource_ids=arns)


@collector(
    "efs",
    produces=("efs.file_system", "efs.backup_policy"),
    domain="encryption",
    scope=Scope.REGIONAL,
    calls=("efs.DescribeFileSystems", "efs.DescribeBackupPolicy"),
)
def collect_efs(ctx: CollectorContext) -> None:
    """EFS file systems (encryption, tags) and each one's backup policy: automatic backups by AWS Backup."""
    file_systems = ctx.paginate("efs.DescribeFileSystems", kind="efs.file_system", result_key="FileSystems")
    if file_systems is None:
        return
    for file_system in file_systems:
        arn = file_system["FileSystemArn"]
        record: dict[str, Any] = {
            "resource_type": "file-system",
            "resource_id": arn,
            "tags": file_system.get("Tags") or [],
        }
        ctx.record(kind="efs.file_system", payload=file_system, **record)
        # PolicyNotFound: automatic backups were never turned on, a fact.
        policy = ctx.call(
            "efs.DescribeBackupPolicy",
            kind="efs.backup_policy",
            resource_id=arn,
            absent={"PolicyNotFound"},
            FileSystemId=file_system["FileSystemId"],
        )
        if policy is not None:
            ctx.record(kind="efs.backup_policy", payload=_payload(policy), **record)
    ctx.listing(
        kind="efs.file_system", call="efs.DescribeFileSystems", resource_ids=[f["FileSystemArn"] for f in file_systems]
    )


@collector(
    "rds",
    produces=("rds.db_instance", "rds.parameter_group", "rds.db_cluster"),
    domain="encryption",
    scope=Scope.REGIONAL,
    calls=("rds.DescribeDBInstances", "rds.DescribeDBParameters", "rds.DescribeDBClusters"),
)
def collect_rds(ctx: CollectorContext) -> None:
    """One read serves encryption, public access, minor-version upgrades, backups, availability and log exports;
    the parameter groups in use say whether connections must use TLS. DB clusters are read for what Aurora and
    Multi-AZ DB clusters set on the cluster rather than on its instances (log exports)."""
    clusters = ctx.paginate("rds.DescribeDBClusters", kind="rds.db_cluster", result_key="DBClusters")
    if clusters is not None:
        for cluster in clusters:
            ctx.record(
                kind="rds.db_cluster",
                resource_type="db-cluster",
                resource_id=cluster["DBClusterArn"],
                payload=cluster,
                tags=cluster.get("TagList") or [],
            )
        ctx.listing(
            kind="rds.db_cluster", call="rds.DescribeDBClusters", resource_ids=[c["DBClusterArn"] for c in clusters]
        )
    instances = ctx.paginate("rds.DescribeDBInstances", kind="rds.db_instance", result_key="DBInstances")
    if instances is None:
        return
    for instance in instances:
        ctx.record(
            kind="rds.db_instance",
            resource_type="db-instance",
            resource_id=instance["DBInstanceArn"],
            payload=instance,
            tags=instance.get("TagList") or [],
        )
    ctx.listing(
        kind="rds.db_instance", call="rds.DescribeDBInstances", resource_ids=[i["DBInstanceArn"] for i in instances]
    )
    groups = sorted({g["DBParameterGroupName"] for i in instances for g in i.get("DBParameterGroups") or []})
    for name in groups:  # once per group in use, however many instances share it
        arn = parameter_group_arn(ctx.region, ctx.account_id, name)
        parameters = ctx.paginate(
            "rds.DescribeDBParameters",
            kind="rds.parameter_group",
            result_key="Parameters",
            resource_id=arn,
            DBParameterGroupName=name,
        )
        if parameters is not None:
            # Descriptions and allowed values are documentation, not state: left out to keep the item small.
            kept = [{k: v for k, v in p.items() if k not in ("Description", "AllowedValues")} for p in parameters]
            ctx.record(
                kind="rds.parameter_group",
                resource_type="db-parameter-group",
                resource_id=arn,
                payload={"DBParameterGroupName": name, "Parameters": kept},
                tags={},
            )


def parameter_group_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:rds:{region}:{account_id}:pg:{name}"


@collector(
    "kms",
    produces=("kms.key", "kms.key_rotation", "kms.aliases"),
    domain="encryption",
    scope=Scope.REGIONAL,
    calls=("kms.ListKeys", "kms.DescribeKey", "kms.GetKeyRotationStatus", "kms.ListAliases"),
)
def collect_kms(ctx: CollectorContext) -> None:
    # One item for the region: which key each alias names (resources may name their key by alias), and the
    # reserved alias/aws/* names that mark AWS-managed keys.
    aliases = ctx.paginate("kms.ListAliases", kind="kms.aliases", result_key="Aliases")
    if aliases is not None:
        ctx.record(
            kind="kms.aliases",
            resource_type="aliases",
            resource_id=setting_id(ctx.account_id, ctx.region, "kms-aliases"),
            payload={"Aliases": aliases},
            tags={},
        )
    keys = ctx.paginate("kms.ListKeys", kind="kms.key", result_key="Keys")
    if keys is None:
        return
    ctx.listing(kind="kms.key", call="kms.ListKeys", resource_ids=[k["KeyArn"] for k in keys])
    for key in keys:
        arn = key["KeyArn"]
        described = ctx.call("kms.DescribeKey", kind="kms.key", resource_id=arn, KeyId=arn)
        if not isinstance(described, dict):
            continue
        metadata = described["KeyMetadata"]
        ctx.record(kind="kms.key", resource_type="key", resource_id=arn, payload=metadata, tag_arn=arn)
        # Rotation status exists only for customer-managed symmetric keys in use; AWS-managed keys always rotate
        # and asymmetric or HMAC keys answer UnsupportedOperationException.
        if (
            metadata.get("KeyManager") == "CUSTOMER"
            and metadata.get("KeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
            and metadata.get("KeyState") == "Enabled"
        ):
            rotation = ctx.call("kms.GetKeyRotationStatus", kind="kms.key_rotation", resource_id=arn, KeyId=arn)
            if rotation is not None:
                ctx.record(kind="kms.key_rotation", resource_type="key", resource_id=arn, payload=rotation, tag_arn=arn)
