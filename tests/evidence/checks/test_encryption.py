"""Encryption checks on the scenario estate."""

from evidence.checks._policies import denies_insecure_transport
from evidence.checks.types import FindingStatus
from tests.scenario import Collected

PASS, FAIL, NA = FindingStatus.PASS, FindingStatus.FAIL, FindingStatus.NOT_APPLICABLE


def test_s3_default_encryption(collected: Collected) -> None:
    good = collected.finding("s3.default_encryption", ":::secure-bucket")
    assert good.status == PASS and good.resource_id == "arn:aws:s3:::secure-bucket" and good.region == "us-east-1"
    bad = collected.finding("s3.default_encryption", ":::plain-bucket")
    # moto answers ServerSideEncryptionConfigurationNotFoundError for a new bucket: recorded as a fact, a fail.
    assert bad.status == FAIL and bad.region == "eu-west-1"
    payloads = [collected.store.load_payload(sha) for sha in bad.evidence]
    codes = [p["NotFound"]["Code"] for p in payloads if "NotFound" in p]
    assert codes == ["ServerSideEncryptionConfigurationNotFoundError"]


def test_s3_secure_transport(collected: Collected) -> None:
    assert collected.finding("s3.secure_transport_required", ":::secure-bucket").status == PASS
    bad = collected.finding("s3.secure_transport_required", ":::plain-bucket")
    assert bad.status == FAIL and "no policy" in bad.reason


def test_s3_public_access_block_at_bucket_or_account_level(collected: Collected) -> None:
    assert "for the bucket" in collected.finding("s3.public_access_blocked", ":::secure-bucket").reason
    member = collected.finding("s3.public_access_blocked", ":::member-a-data")
    assert member.status == PASS and "for the account" in member.reason
    assert member.account_id == collected.estate.member_a
    assert collected.finding("s3.public_access_blocked", ":::plain-bucket").status == FAIL
    assert collected.finding("s3.public_access_blocked", ":::member-b-scratch").status == FAIL


def test_ebs_encryption_by_default_per_region(collected: Collected) -> None:
    management = collected.estate.management
    east = collected.finding("ec2.ebs_default_encryption", f"{management}/us-east-1/ebs-encryption-by-default")
    west = collected.finding("ec2.ebs_default_encryption", f"{management}/eu-west-1/ebs-encryption-by-default")
    assert (east.status, west.status) == (PASS, FAIL)
    assert len(collected.findings("ec2.ebs_default_encryption")) == 6  # 3 accounts x 2 regions


def test_ebs_volumes(collected: Collected) -> None:
    ids = collected.estate.ids
    assert collected.finding("ec2.ebs_volume_encrypted", ids["encrypted_volume"]).status == PASS
    bad = collected.finding("ec2.ebs_volume_encrypted", ids["plain_volume"])
    assert bad.status == FAIL and bad.resource_id.startswith("arn:aws:ec2:us-east-1:")


def test_rds_storage(collected: Collected) -> None:
    assert collected.finding("rds.storage_encrypted", ":db:orders-db").status == PASS
    assert collected.finding("rds.storage_encrypted", ":db:legacy-db").status == FAIL
    member = collected.finding("rds.storage_encrypted", ":db:member-a-db")
    assert member.status == PASS and member.region == "eu-west-1" and member.owner is None


def test_kms_rotation_of_customer_keys(collected: Collected) -> None:
    ids = collected.estate.ids
    rotated = collected.finding("kms.key_rotation_enabled", ids["rotated_key"])
    assert rotated.status == PASS and rotated.owner == "crypto-team"  # owner from the tagging index
    assert len(rotated.evidence) == 2  # the key and its rotation status
    assert collected.finding("kms.key_rotation_enabled", ids["unrotated_key"]).status == FAIL


def test_tls_only_policy_recognition() -> None:
    deny = {
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": ["s3:*"],
        "Condition": {"Bool": {"aws:SecureTransport": ["false"]}},
    }
    assert denies_insecure_transport({"Statement": [deny]})
    assert not denies_insecure_transport({"Statement": [{**deny, "Effect": "Allow"}]})
    assert not denies_insecure_transport({"Statement": [{**deny, "Principal": {"AWS": "arn:aws:iam::1:root"}}]})
    assert not denies_insecure_transport(
        {"Statement": [{**deny, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]}
    )
