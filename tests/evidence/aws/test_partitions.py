"""Partitions: every ARN auditpack builds is in the partition of the region it comes from, never `arn:aws:` by
default. A GovCloud estate (moto serves us-gov-west-1) is collected and evaluated end to end; a source lint keeps
the literal out of the code that builds ARNs."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from evidence.aws.partition import arn, parse_arn, partition_for_region
from evidence.aws.scope import CollectionScope, ScopeError
from evidence.findings import load_findings
from evidence.orchestrator import collect
from evidence.store import EvidenceStore
from tests.moto_server import fake_aws_env

GOV = "us-gov-west-1"
ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("region", "partition"),
    [
        ("us-east-1", "aws"),
        ("eu-west-1", "aws"),
        (GOV, "aws-us-gov"),
        ("us-gov-east-1", "aws-us-gov"),
        ("cn-north-1", "aws-cn"),
        ("us-iso-east-1", "aws-iso"),
    ],
)
def test_the_partition_comes_from_the_region(region: str, partition: str) -> None:
    assert partition_for_region(region) == partition


def test_a_region_in_no_partition_is_bad_input() -> None:
    with pytest.raises(ScopeError, match="'global' belongs to no AWS partition"):
        partition_for_region("global")


def test_arns_are_built_and_read_in_any_partition() -> None:
    built = arn("aws-cn", "s3", "", "", "logs/AWSLogs/")
    assert built == "arn:aws-cn:s3:::logs/AWSLogs/"
    assert parse_arn(built) == ("aws-cn", "s3", "", "", "logs/AWSLogs/")
    assert parse_arn("arn:aws-us-gov:iam::111111111111:root").partition == "aws-us-gov"  # type: ignore[union-attr]
    assert parse_arn("sg-0123") is None and parse_arn("arn:aws") is None


@pytest.fixture
def govcloud() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=GOV)


def _plant(session: boto3.Session) -> None:
    """A small GovCloud estate touching every collector that builds ARNs itself (S3, EC2 volumes, snapshots,
    VPCs, instances, DynamoDB, GuardDuty, RDS parameter groups) and the account-level checks."""
    s3 = session.client("s3")
    s3.create_bucket(Bucket="gov-phi-records", CreateBucketConfiguration={"LocationConstraint": GOV})
    s3.put_bucket_tagging(Bucket="gov-phi-records", Tagging={"TagSet": [{"Key": "DataClassification", "Value": "PHI"}]})
    s3.put_bucket_policy(
        Bucket="gov-phi-records",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [arn("aws-us-gov", "s3", "", "", "gov-phi-records/*")],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            }
        ),
    )
    ec2 = session.client("ec2")
    volume = ec2.create_volume(AvailabilityZone=f"{GOV}a", Size=8, Encrypted=False)
    ec2.create_snapshot(VolumeId=volume["VolumeId"])
    ec2.create_vpc(CidrBlock="10.10.0.0/16")
    image = ec2.register_image(Name="gov-base", RootDeviceName="/dev/xvda")["ImageId"]  # moto has no GovCloud AMIs
    ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro")
    session.client("dynamodb").create_table(
        TableName="claims",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    session.client("guardduty").create_detector(Enable=True)
    session.client("rds").create_db_instance(
        DBInstanceIdentifier="claims-db",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="admin",
        MasterUserPassword="not-a-secret-1",
        AllocatedStorage=20,
    )


# moto builds some ARNs in the standard partition whatever the region (its IAM users, its security groups'
# SecurityGroupArn): those are moto's answers, stored as AWS gave them, not ARNs auditpack built.
_MOTO_OWN = re.compile(r"arn:aws:(iam::\d{12}:user/|ec2:us-gov-west-1:\d{12}:security-group/)")


def _standard_arns(text: str) -> list[str]:
    return [m.group(0) for m in re.finditer(r"arn:aws:[^\"'\s,]*", text) if not _MOTO_OWN.match(m.group(0))]


def test_a_govcloud_estate_has_no_standard_partition_arn(govcloud: boto3.Session, sqlite_store: EvidenceStore) -> None:
    _plant(govcloud)
    run = collect(
        sqlite_store,
        CollectionScope(session=govcloud, regions=(GOV,), max_attempts=1),
        trigger="cli",
        requested_by="tests",
    )
    evidence = list(sqlite_store.iter_evidence(run.id))
    findings = load_findings(sqlite_store, run.id)
    assert evidence and findings
    kinds = {r.kind for r in evidence}
    assert {"s3.bucket", "ec2.volume", "ec2.snapshot", "ec2.vpc", "dynamodb.table", "guardduty.detector"} <= kinds

    stored = [r.resource_id for r in evidence] + [sqlite_store.payload_bytes(r.sha256).decode() for r in evidence]
    stored += [f"{f.resource_id} {f.reason}" for f in findings]
    stored += [f"{g.resource_id} {g.message}" for g in sqlite_store.gaps(run.id)]
    assert [a for text in stored for a in _standard_arns(text)] == []

    [account] = [r for r in evidence if r.kind == "collection.account"]
    assert account.resource_id.startswith("arn:aws-us-gov:iam::") and account.payload["Partition"] == "aws-us-gov"
    assert "arn:aws-us-gov:s3:::gov-phi-records" in {r.resource_id for r in evidence if r.kind == "s3.bucket"}
    account_arns = {f.resource_id for f in findings if f.resource_type == "account" and f.resource_id.startswith("arn")}
    assert account_arns == {account.resource_id}  # account checks report on the GovCloud root ARN


def _sources() -> list[Path]:
    """Where ARNs are built: collectors, checks, the orchestrator and evaluation, the AWS helpers."""
    paths = [*(ROOT / "evidence" / "collectors").rglob("*.py"), *(ROOT / "evidence" / "checks").rglob("*.py")]
    paths += [ROOT / "evidence" / "orchestrator.py", ROOT / "evidence" / "inventory.py"]
    paths += [p for p in (ROOT / "evidence" / "aws").glob("*.py")]
    paths += [ROOT / "auditpack" / "cli" / "iam_policy.py"]
    return paths


def test_no_standard_partition_arn_is_written_in_the_code() -> None:
    """No string in the code that builds ARNs starts "arn:aws:" (f-strings included); comments and docstrings,
    which are not strings the code builds, may show one as an example."""
    literal = re.compile(r"""[rbfu]*(["'])arn:aws:""", re.IGNORECASE)
    offenders = []
    for path in _sources():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if literal.search(code):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
