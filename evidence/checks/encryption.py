"""Encryption checks: S3 default encryption, TLS-only bucket policies, public access blocks, EBS, RDS, KMS."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from evidence.checks.registry import check
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import Finding
from evidence.checks.verdicts import (
    FAIL,
    NA,
    PASS,
    listed_records,
    needed,
    place_setting,
    setting_id,
    verdict,
)
from evidence.checks.view import GLOBAL, EvidenceView
from evidence.store import EvidenceRecord

BUCKET = "s3.bucket"
ENCRYPTION_ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")
BLOCK_FIELDS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def _buckets(view: EvidenceView, check_id: str) -> Iterator[EvidenceRecord | Finding]:
    return listed_records(view, check_id, BUCKET, resource_type="bucket", what="bucket details", regional=False)


def _bucket_evidence(
    view: EvidenceView, check_id: str, bucket: EvidenceRecord, kind: str, what: str
) -> EvidenceRecord | Finding:
    return needed(
        view,
        check_id,
        kind,
        account_id=bucket.account_id,
        resource_id=bucket.resource_id,
        resource_type="bucket",
        region=bucket.region,
        what=what,
        base=bucket,
    )


@check("s3.default_encryption", kinds=(BUCKET, "s3.bucket_encryption"), regional=False)
def default_encryption(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "s3.default_encryption"
    for bucket in _buckets(view, check_id):
        if isinstance(bucket, Finding):
            yield bucket
            continue
        record = _bucket_evidence(view, check_id, bucket, "s3.bucket_encryption", "bucket encryption configuration")
        if isinstance(record, Finding):
            yield record
            continue
        rules = record.payload.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
        algorithms = [r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for r in rules]
        good = [a for a in algorithms if a in ENCRYPTION_ALGORITHMS]
        if good:
            yield verdict(check_id, PASS, bucket, f"default encryption {good[0]}", also=[record])
        else:
            yield verdict(check_id, FAIL, bucket, "the bucket has no default encryption configuration", also=[record])


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def denies_insecure_transport(policy: dict[str, Any]) -> bool:
    """A Deny for every principal and S3 action when aws:SecureTransport is false."""
    for statement in _as_list(policy.get("Statement", [])):
        if not isinstance(statement, dict) or statement.get("Effect") != "Deny":
            continue
        principal = statement.get("Principal")
        if not (principal == "*" or (isinstance(principal, dict) and "*" in _as_list(principal.get("AWS", [])))):
            continue
        if not {"s3:*", "*"} & set(_as_list(statement.get("Action", []))):
            continue
        condition = statement.get("Condition", {})
        for operator in ("Bool", "BoolIfExists"):
            value = condition.get(operator, {}).get("aws:SecureTransport")
            if value is not None and str(_as_list(value)[0]).lower() == "false":
                return True
    return False


@check("s3.secure_transport_required", kinds=(BUCKET, "s3.bucket_policy"), regional=False)
def secure_transport_required(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "s3.secure_transport_required"
    for bucket in _buckets(view, check_id):
        if isinstance(bucket, Finding):
            yield bucket
            continue
        record = _bucket_evidence(view, check_id, bucket, "s3.bucket_policy", "bucket policy")
        if isinstance(record, Finding):
            yield record
        elif "NotFound" in record.payload:
            yield verdict(
                check_id, FAIL, bucket, "the bucket has no policy, so plain-HTTP requests are allowed", also=[record]
            )
        elif isinstance(record.payload.get("Policy"), dict) and denies_insecure_transport(record.payload["Policy"]):
            yield verdict(check_id, PASS, bucket, "the bucket policy denies requests without TLS", also=[record])
        else:
            yield verdict(
                check_id,
                FAIL,
                bucket,
                "the bucket policy does not deny requests where aws:SecureTransport is false",
                also=[record],
            )


def _blocks_all(record: EvidenceRecord | Finding | None) -> bool:
    if not isinstance(record, EvidenceRecord):
        return False
    config = record.payload.get("PublicAccessBlockConfiguration") or {}
    return all(config.get(field) is True for field in BLOCK_FIELDS)


@check(
    "s3.public_access_blocked",
    kinds=(BUCKET, "s3.bucket_public_access_block", "s3.account_public_access_block"),
    regional=False,
)
def public_access_blocked(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "s3.public_access_blocked"
    for bucket in _buckets(view, check_id):
        if isinstance(bucket, Finding):
            yield bucket
            continue
        account = needed(
            view,
            check_id,
            "s3.account_public_access_block",
            account_id=bucket.account_id,
            resource_id=setting_id(bucket.account_id, GLOBAL, "s3-account-public-access-block"),
            resource_type="bucket",
            region=bucket.region,
            what="account public access block",
            base=bucket,
        )
        if _blocks_all(account):
            assert isinstance(account, EvidenceRecord)
            yield verdict(
                check_id, PASS, bucket, "all four public access block settings are on for the account", also=[account]
            )
            continue
        own = _bucket_evidence(view, check_id, bucket, "s3.bucket_public_access_block", "bucket public access block")
        account_record = account if isinstance(account, EvidenceRecord) else None
        if _blocks_all(own):
            assert isinstance(own, EvidenceRecord)
            yield verdict(
                check_id,
                PASS,
                bucket,
                "all four public access block settings are on for the bucket",
                also=[own, account_record],
            )
        elif isinstance(own, Finding):
            yield own
        elif isinstance(account, Finding):  # the bucket does not block everything and the account level is unknown
            yield replace(
                account,
                resource_id=bucket.resource_id,
                resource_type="bucket",
                region=bucket.region,
                owner=bucket.owner,
            )
        else:
            yield verdict(
                check_id,
                FAIL,
                bucket,
                "public access is not fully blocked at the bucket or the account level",
                also=[own, account],
            )


@check("ec2.ebs_default_encryption", kinds=("ec2.ebs_encryption_by_default",), regional=True)
def ebs_default_encryption(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "ec2.ebs_default_encryption"
    for account_id, region in view.targets():
        resource_id = setting_id(account_id, region, "ebs-encryption-by-default")
        record = place_setting(
            view,
            check_id,
            "ec2.ebs_encryption_by_default",
            account_id=account_id,
            region=region,
            resource_id=resource_id,
            resource_type="ebs-encryption-by-default",
            what="EBS encryption-by-default setting",
        )
        if isinstance(record, Finding):
            yield record
        elif record.payload.get("EbsEncryptionByDefault") is True:
            yield verdict(check_id, PASS, record, "new EBS volumes are encrypted by default in this region")
        else:
            yield verdict(check_id, FAIL, record, "EBS encryption by default is off in this region")


@check("ec2.ebs_volume_encrypted", kinds=("ec2.volume",), regional=True)
def ebs_volume_encrypted(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "ec2.ebs_volume_encrypted"
    for record in listed_records(view, check_id, "ec2.volume", resource_type="volume", what="volume details"):
        if isinstance(record, Finding):
            yield record
        elif record.payload.get("Encrypted") is True:
            yield verdict(check_id, PASS, record, "the volume is encrypted")
        else:
            yield verdict(check_id, FAIL, record, "the volume is not encrypted")


@check("rds.storage_encrypted", kinds=("rds.db_instance",), regional=True)
def storage_encrypted(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "rds.storage_encrypted"
    for record in listed_records(
        view, check_id, "rds.db_instance", resource_type="db-instance", what="DB instance details"
    ):
        if isinstance(record, Finding):
            yield record
        elif record.payload.get("StorageEncrypted") is True:
            yield verdict(check_id, PASS, record, "storage is encrypted")
        else:
            yield verdict(check_id, FAIL, record, "storage is not encrypted")


@check("kms.key_rotation_enabled", kinds=("kms.key", "kms.key_rotation"), regional=True)
def key_rotation_enabled(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "kms.key_rotation_enabled"
    for record in listed_records(view, check_id, "kms.key", resource_type="key", what="key metadata"):
        if isinstance(record, Finding):
            yield record
            continue
        meta = record.payload
        if meta.get("KeyManager") != "CUSTOMER":
            yield verdict(check_id, NA, record, "an AWS-managed key (AWS rotates it)")
        elif meta.get("KeySpec", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT":
            yield verdict(
                check_id, NA, record, f"a {meta.get('KeySpec')} key (automatic rotation applies to symmetric keys)"
            )
        elif meta.get("KeyState") != "Enabled":
            yield verdict(check_id, NA, record, f"the key is {meta.get('KeyState')}")
        elif meta.get("Origin", "AWS_KMS") != "AWS_KMS":
            yield verdict(check_id, NA, record, f"key material from {meta.get('Origin')} cannot rotate automatically")
        else:
            rotation = needed(
                view,
                check_id,
                "kms.key_rotation",
                account_id=record.account_id,
                resource_id=record.resource_id,
                resource_type="key",
                region=record.region,
                what="key rotation status",
                base=record,
            )
            if isinstance(rotation, Finding):
                yield rotation
            elif rotation.payload.get("KeyRotationEnabled") is True:
                yield verdict(check_id, PASS, record, "automatic key rotation is on", also=[rotation])
            else:
                yield verdict(check_id, FAIL, record, "automatic key rotation is off", also=[rotation])
