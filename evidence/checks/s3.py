"""The s3.* checks: default encryption, TLS-only bucket policies, public access blocks, versioning (metadata in
s3.yaml)."""

from __future__ import annotations

from typing import Any

from evidence.checks._policies import denies_insecure_transport
from evidence.checks.types import Finding
from evidence.checks.unit import Check, each
from evidence.checks.verdicts import setting_id
from evidence.checks.view import GLOBAL
from evidence.store import EvidenceRecord

BUCKET = "s3.bucket"
ENCRYPTION, POLICY, VERSIONING = "s3.bucket_encryption", "s3.bucket_policy", "s3.bucket_versioning"
BUCKET_BLOCK, ACCOUNT_BLOCK = "s3.bucket_public_access_block", "s3.account_public_access_block"
ENCRYPTION_ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")
BLOCK_FIELDS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def buckets(*, reads: tuple[str, ...]) -> Any:
    """A check judging every bucket (buckets are listed once per account, so not regionally)."""
    return each(BUCKET, resource_type="bucket", what="bucket details", regional=False, reads=reads)


@buckets(reads=(ENCRYPTION,))
def default_encryption(c: Check, bucket: EvidenceRecord) -> Finding:
    record = c.need(ENCRYPTION, base=bucket, resource_type="bucket", what="bucket encryption configuration")
    rules = record.payload.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    algorithms = [r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for r in rules]
    good = [a for a in algorithms if a in ENCRYPTION_ALGORITHMS]
    if good:
        return c.passed(bucket, f"default encryption {good[0]}", also=[record])
    return c.failed(bucket, "the bucket has no default encryption configuration", also=[record])


@buckets(reads=(POLICY,))
def secure_transport_required(c: Check, bucket: EvidenceRecord) -> Finding:
    record = c.need(POLICY, base=bucket, resource_type="bucket", what="bucket policy")
    if "NotFound" in record.payload:
        return c.failed(bucket, "the bucket has no policy, so plain-HTTP requests are allowed", also=[record])
    if isinstance(record.payload.get("Policy"), dict) and denies_insecure_transport(record.payload["Policy"]):
        return c.passed(bucket, "the bucket policy denies requests without TLS", also=[record])
    return c.failed(
        bucket, "the bucket policy does not deny requests where aws:SecureTransport is false", also=[record]
    )


def _blocks_all(record: EvidenceRecord | None) -> bool:
    config = (record.payload.get("PublicAccessBlockConfiguration") if record else None) or {}
    return all(config.get(field) is True for field in BLOCK_FIELDS)


@buckets(reads=(BUCKET_BLOCK, ACCOUNT_BLOCK))
def public_access_blocked(c: Check, bucket: EvidenceRecord) -> Finding:
    account_block = setting_id(bucket.account_id, GLOBAL, "s3-account-public-access-block")
    account = c.view.one(ACCOUNT_BLOCK, bucket.account_id, account_block)
    if _blocks_all(account):
        return c.passed(bucket, "all four public access block settings are on for the account", also=[account])
    own = c.need(BUCKET_BLOCK, base=bucket, resource_type="bucket", what="bucket public access block")
    if _blocks_all(own):
        return c.passed(bucket, "all four public access block settings are on for the bucket", also=[own, account])
    # The bucket does not block everything: the account level decides, and its absence is this bucket's error.
    account = c.need(
        ACCOUNT_BLOCK, base=bucket, resource_type="bucket", key=account_block, what="account public access block"
    )
    return c.failed(
        bucket, "public access is not fully blocked at the bucket or the account level", also=[own, account]
    )


@buckets(reads=(VERSIONING,))
def versioning_enabled(c: Check, bucket: EvidenceRecord) -> Finding:
    record = c.need(VERSIONING, base=bucket, resource_type="bucket", what="bucket versioning state")
    status = record.payload.get("Status")
    if status == "Enabled":
        mfa = " with MFA delete" if record.payload.get("MFADelete") == "Enabled" else ""
        return c.passed(bucket, f"versioning is enabled{mfa}", also=[record])
    state = f"is {status.lower()}" if status else "was never enabled"
    return c.failed(bucket, f"versioning {state}", also=[record])
