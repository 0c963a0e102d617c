"""`AUDITPACK_BLOB_STORE=s3://...`: `auditpack collect` keeps payloads as locked objects and `verify --store` reads
every object back (in-process moto with Object Lock)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.evidence.worm import locked_bucket
from tests.moto_server import fake_aws_env

REGION = "us-east-1"
BUCKET = "auditpack-worm"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch, cli_env: dict[str, str]) -> Iterator[Any]:
    with locked_bucket(BUCKET) as client:
        client.create_bucket(Bucket="estate-bucket")  # something to collect
        monkeypatch.setenv("AUDITPACK_BLOB_STORE", f"s3://{BUCKET}/evidence")
        monkeypatch.setenv("AUDITPACK_BLOB_RETENTION_DAYS", "30")
        yield client


def _keys(s3: Any) -> list[tuple[str, str]]:
    listed = s3.list_object_versions(Bucket=BUCKET).get("Versions", [])
    return sorted((v["Key"], v["VersionId"]) for v in listed)


def test_collect_writes_locked_objects_and_verify_store_reads_them_back(s3: Any, run_cli) -> None:  # type: ignore[no-untyped-def]
    collected = run_cli("collect", "--region", REGION, "--format", "json")
    assert collected.code == 0, collected
    keys = _keys(s3)
    assert len(keys) > 10 and all(key.startswith("evidence/") for key, _version in keys)
    head = s3.head_object(Bucket=BUCKET, Key=keys[0][0])
    assert head["ObjectLockMode"] == "COMPLIANCE"

    again = run_cli("collect", "--region", REGION, "--format", "json")
    assert again.code == 0, again
    assert _keys(s3) == keys  # an unchanged estate: the second capture adds no object

    verified = run_cli("verify", "--store", "--format", "json")
    assert verified.code == 0, verified
    result = json.loads(verified.stdout)
    assert result["intact"] and result["blobs_checked"] == len(_keys(s3))
    assert result["objects_in"] == f"s3://{BUCKET}/evidence"
    table = run_cli("verify", "--store")
    assert table.code == 0 and f"{len(keys)} blobs (objects read back from s3://{BUCKET}/evidence)" in table.stdout

    key = keys[0][0]
    s3.put_object(Bucket=BUCKET, Key=key, Body=b'{"forged":true}')  # a new version under the same key
    broken = run_cli("verify", "--store", "--format", "json")
    assert broken.code == 1
    problems = [p["problem"] for p in json.loads(broken.stdout)["problems"]]
    assert any(p.startswith(f"object s3://{BUCKET}/{key} was altered: its content hashes to ") for p in problems)

    first_run = run_cli("verify", "--store", "--run", "1", "--format", "json")
    assert first_run.code == 1 and json.loads(first_run.stdout)["blobs_checked"] == len(keys)
    # Another run's objects are not read back one by one, but re-deriving the findings reads the evidence, and that
    # read meets the altered object too.
    other = run_cli("verify", "--store", "--run", "99", "--format", "json")
    answer = json.loads(other.stdout)
    assert other.code == 1 and answer["blobs_checked"] == 0
    assert all(
        p["row"] == "findings" and f"object s3://{BUCKET}/{key} was altered" in p["problem"] for p in answer["problems"]
    )


def test_a_bucket_without_object_lock_is_refused_before_anything_is_collected(
    s3: Any, monkeypatch: pytest.MonkeyPatch, run_cli
) -> None:  # type: ignore[no-untyped-def]
    s3.create_bucket(Bucket="no-lock")
    monkeypatch.setenv("AUDITPACK_BLOB_STORE", "s3://no-lock/evidence")
    refused = run_cli("collect", "--region", REGION)
    assert refused.code == 1
    assert "bucket no-lock does not have S3 Object Lock enabled" in refused.stderr


def test_an_s3_blob_store_needs_a_retention(s3: Any, monkeypatch: pytest.MonkeyPatch, run_cli) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("AUDITPACK_BLOB_RETENTION_DAYS")
    refused = run_cli("collect", "--region", REGION)
    assert refused.code == 2
    assert "AUDITPACK_BLOB_RETENTION_DAYS: required with an s3:// AUDITPACK_BLOB_STORE" in refused.stderr


def test_iam_policy_prints_the_blob_store_write_policy_apart_from_the_read_only_one(run_cli) -> None:  # type: ignore[no-untyped-def]
    written = run_cli("iam-policy", "--blob-store", f"s3://{BUCKET}/evidence")
    assert written.code == 0, written
    policy = json.loads(written.stdout)
    actions = {action: s["Resource"] for s in policy["Statement"] for action in s["Action"]}
    assert actions == {
        "s3:PutObject": f"arn:aws:s3:::{BUCKET}/evidence/*",
        "s3:PutObjectRetention": f"arn:aws:s3:::{BUCKET}/evidence/*",
        "s3:GetObject": f"arn:aws:s3:::{BUCKET}/evidence/*",
        "s3:GetObjectRetention": f"arn:aws:s3:::{BUCKET}/evidence/*",
        "s3:GetBucketObjectLockConfiguration": f"arn:aws:s3:::{BUCKET}",
        "s3:ListBucket": f"arn:aws:s3:::{BUCKET}",
    }
    read_only = run_cli("iam-policy")
    assert "s3:PutObject" not in read_only.stdout and "s3:GetBucketObjectLockConfiguration" not in read_only.stdout
    with fake_aws_env(), mock_aws():  # a policy document IAM accepts
        boto3.client("iam").create_policy(PolicyName="auditpack-blob-store", PolicyDocument=written.stdout)


def test_diff_and_a_signed_packet_read_their_evidence_from_the_objects(s3: Any, run_cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("collect", "--region", REGION).code == 0
    s3.put_bucket_encryption(
        Bucket="estate-bucket",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    assert run_cli("collect", "--region", REGION).code == 0
    diff = run_cli("diff", "--format", "json")
    assert diff.code == 0, diff
    assert "estate-bucket" in diff.stdout and "AES256" in diff.stdout

    pdf, bundle = tmp_path / "hipaa.pdf", tmp_path / "hipaa.zip"
    built = run_cli("packet", "--framework", "hipaa", "--out", str(pdf), "--bundle", str(bundle))
    assert built.code == 0, built
    verified = run_cli("verify", str(bundle), "--format", "json")
    assert verified.code == 0, verified
    assert json.loads(verified.stdout)["evidence_checked"] > 10
