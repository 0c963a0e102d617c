"""Customer-managed keys on classified data stores, collected from moto and evaluated: S3 default encryption and
DynamoDB table encryption, with the key named by ARN, id or alias. A key whose description could not be read is
an `error` for the bucket or table, never a pass."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import enable_iam_authentication

from evidence.checks.evaluate import evaluate_view
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import FindingStatus
from evidence.checks.view import EvidenceView
from evidence.store import EvidenceStore
from tests.evidence.checks.test_missing_evidence import ACCOUNT, WHEN, listing, record, scope
from tests.evidence.collectors.harness import REGION, collect, denied
from tests.moto_server import fake_aws_env
from tests.scenario import Collected

PASS, FAIL, NA, ERROR = FindingStatus.PASS, FindingStatus.FAIL, FindingStatus.NOT_APPLICABLE, FindingStatus.ERROR
CLASSIFIED = [{"Key": "DataClassification", "Value": "ephi"}]


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def _sse(algorithm: str, key: str | None = None) -> dict[str, Any]:
    default = {"SSEAlgorithm": algorithm, **({"KMSMasterKeyID": key} if key else {})}
    return {"Rules": [{"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": True}]}


def _buckets(session: boto3.Session) -> str:
    s3, kms = session.client("s3"), session.client("kms")
    key = kms.create_key(Description="phi")["KeyMetadata"]
    kms.create_alias(AliasName="alias/phi", TargetKeyId=key["KeyId"])
    encryption = {
        "by-arn": _sse("aws:kms", key["Arn"]),
        "by-id": _sse("aws:kms", key["KeyId"]),
        "by-alias": _sse("aws:kms:dsse", "alias/phi"),
        "other-account": _sse("aws:kms", "arn:aws:kms:us-east-1:999999999999:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        "aws-managed": _sse("aws:kms"),
        "aws-alias": _sse("aws:kms", "alias/aws/s3"),
        "sse-s3": _sse("AES256"),
        "unclassified": _sse("AES256"),
    }
    for name, configuration in encryption.items():
        s3.create_bucket(Bucket=name)
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration=configuration)
        if name != "unclassified":
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": CLASSIFIED})
    return str(key["Arn"])


def test_s3_classified_buckets_on_customer_keys(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    key = _buckets(aws)
    findings = collect(sqlite_store, aws, ["s3", "kms"]).of("s3.cmk_on_classified")
    for name in ("by-arn", "by-id", "by-alias"):
        assert findings[name].status == PASS, findings[name]
        assert findings[name].reason.endswith(f"with the customer-managed key {key}")
    assert len(findings["by-alias"].evidence) == 4  # bucket, its encryption, the alias list, the key
    assert findings["other-account"].status == PASS and "of account 999999999999" in findings["other-account"].reason
    assert findings["aws-managed"].status == FAIL and "AWS managed key aws/s3" in findings["aws-managed"].reason
    assert findings["aws-alias"].status == FAIL and "AWS managed key alias/aws/s3" in findings["aws-alias"].reason
    assert findings["sse-s3"].status == FAIL and "SSE-S3" in findings["sse-s3"].reason
    assert findings["unclassified"].status == NA


def test_s3_key_description_refused_is_an_error(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    _buckets(aws)
    auditor = denied(aws, "kms:DescribeKey")
    with enable_iam_authentication():
        findings = collect(sqlite_store, auditor, ["s3", "kms"]).of("s3.cmk_on_classified")
    for name in ("by-arn", "by-id", "by-alias"):
        assert findings[name].status == ERROR and findings[name].resource_type == "bucket"
        assert "kms:DescribeKey failed (AccessDenied" in findings[name].reason
    assert findings["sse-s3"].status == FAIL  # needs no key description to be judged


def _tables(session: boto3.Session) -> None:
    ddb, kms = session.client("dynamodb"), session.client("kms")
    key = kms.create_key(Description="orders")["KeyMetadata"]["Arn"]
    common = {
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    ddb.create_table(TableName="owned-key", Tags=CLASSIFIED, **common)
    ddb.create_table(TableName="customer-key", Tags=CLASSIFIED, SSESpecification=_kms(key), **common)
    ddb.create_table(TableName="aws-managed", Tags=CLASSIFIED, SSESpecification=_kms(None), **common)
    ddb.create_table(TableName="sessions", **common)


def _kms(key: str | None) -> dict[str, Any]:
    return {"Enabled": True, "SSEType": "KMS", **({"KMSMasterKeyId": key} if key else {})}


def test_dynamodb_classified_tables_on_customer_keys(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    _tables(aws)
    findings = collect(sqlite_store, aws, ["dynamodb", "kms"]).of("dynamodb.cmk_on_classified")
    assert findings["customer-key"].status == PASS and "customer-managed key" in findings["customer-key"].reason
    assert findings["owned-key"].status == FAIL and "a key AWS owns" in findings["owned-key"].reason
    # SSE-KMS without a key id uses aws/dynamodb (moto describes that key as the customer's; its reserved alias
    # says otherwise)
    assert findings["aws-managed"].status == FAIL and "AWS managed key" in findings["aws-managed"].reason
    assert findings["sessions"].status == NA


def test_dynamodb_reads_refused_are_errors(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    _tables(aws)
    auditor = denied(aws, "dynamodb:ListTagsOfResource")
    with enable_iam_authentication():
        findings = collect(sqlite_store, auditor, ["dynamodb", "kms"]).of("dynamodb.cmk_on_classified")
    assert len(findings) == 4 and {f.status for f in findings.values()} == {ERROR}
    assert "dynamodb:ListTagsOfResource failed (AccessDenied" in findings["customer-key"].reason


def test_key_manager_decides_and_an_alias_naming_no_key_is_undecided() -> None:
    """In-memory evidence: an AWS managed key named by ARN fails on its KeyManager; an alias that names no key is
    an error, not a guess."""
    bucket_arn = "arn:aws:s3:::phi"
    bucket = record("s3.bucket", bucket_arn, {"Name": "phi", "Tags": CLASSIFIED}, resource_type="bucket")
    key_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k-1"
    key = record("kms.key", key_arn, {"KeyId": "k-1", "KeyManager": "AWS"}, resource_type="key")
    aliases = record("kms.aliases", f"{ACCOUNT}/{REGION}/kms-aliases", {"Aliases": []}, resource_type="aliases")

    def judged(reference: str) -> tuple[FindingStatus, str]:
        configuration = {"ServerSideEncryptionConfiguration": _sse("aws:kms", reference)}
        encryption = record("s3.bucket_encryption", bucket_arn, configuration, resource_type="bucket")
        buckets = listing("s3.bucket", [bucket_arn], region="global")
        view = EvidenceView([*scope(), buckets, bucket, encryption, key, aliases], [])
        findings = evaluate_view(view, thresholds=Thresholds(), now=WHEN)
        [finding] = [f for f in findings if f.check_id == "s3.cmk_on_classified"]
        return finding.status, finding.reason

    assert judged(key_arn) == (FAIL, f"classified ephi: aws:kms with the AWS managed key {key_arn}")
    status, reason = judged("alias/gone")
    assert status == ERROR and reason == f"cannot decide whose key encrypts it: alias/gone names no key in {REGION}"


def test_unrestricted_classifications_need_no_customer_key() -> None:
    """Buckets classified public or internal (by default) are not_applicable; the list is a threshold."""
    bucket_arn = "arn:aws:s3:::team-wiki"
    tags = [{"Key": "DataClassification", "Value": "Internal"}]
    bucket = record("s3.bucket", bucket_arn, {"Name": "team-wiki", "Tags": tags}, resource_type="bucket")
    configuration = {"ServerSideEncryptionConfiguration": _sse("AES256")}
    encryption = record("s3.bucket_encryption", bucket_arn, configuration, resource_type="bucket")
    logging = record("s3.bucket_logging", bucket_arn, {}, resource_type="bucket")
    view = EvidenceView(
        [*scope(), listing("s3.bucket", [bucket_arn], region="global"), bucket, encryption, logging], []
    )

    def statuses(thresholds: Thresholds) -> dict[str, tuple[FindingStatus, str]]:
        findings = evaluate_view(view, thresholds=thresholds, now=WHEN)
        wanted = ("s3.cmk_on_classified", "s3.access_logging_on_classified")
        return {f.check_id: (f.status, f.reason) for f in findings if f.check_id in wanted}

    unrestricted = "classified Internal, an unrestricted classification (AUDITPACK_UNRESTRICTED_CLASSIFICATIONS)"
    assert statuses(Thresholds()) == {
        "s3.cmk_on_classified": (NA, unrestricted),
        "s3.access_logging_on_classified": (NA, unrestricted),
    }
    strict = statuses(Thresholds(unrestricted_classifications=()))
    assert strict["s3.cmk_on_classified"] == (
        FAIL,
        "classified Internal: SSE-S3: keys S3 manages, no customer-managed KMS key",
    )
    assert strict["s3.access_logging_on_classified"] == (FAIL, "classified Internal: server access logging is off")


def test_customer_keys_in_the_scenario_estate(collected: Collected) -> None:
    rotated = collected.estate.ids["rotated_key"]
    secure = collected.finding("s3.cmk_on_classified", ":::secure-bucket")
    assert (
        secure.status == PASS
        and secure.reason == f"classified confidential: aws:kms with the customer-managed key {rotated}"
    )
    assert collected.finding("s3.cmk_on_classified", ":::phi-exports").status == FAIL
    assert collected.finding("dynamodb.cmk_on_classified", ":table/claims").status == PASS
    orders = collected.finding("dynamodb.cmk_on_classified", ":table/orders")
    assert orders.status == FAIL and "a key AWS owns" in orders.reason
    assert collected.finding("dynamodb.cmk_on_classified", ":table/sessions").status == NA
