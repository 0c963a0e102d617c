"""A small estate for the API's end-to-end tests: one account, one region, one compliant and one non-compliant
resource of a few kinds. Built with boto3 against whatever endpoint the session points at (moto_server here), so
the collection stays a few seconds long."""

from __future__ import annotations

from dataclasses import dataclass

import boto3

REGION = "us-east-1"


@dataclass(frozen=True)
class SmallEstate:
    account: str
    secure_bucket: str = "records-encrypted"
    plain_bucket: str = "records-plain"


def build_small_estate(session: boto3.Session) -> SmallEstate:
    account = session.client("sts").get_caller_identity()["Account"]
    estate = SmallEstate(account=account)
    s3 = session.client("s3", region_name=REGION)
    for bucket in (estate.secure_bucket, estate.plain_bucket):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_encryption(
        Bucket=estate.secure_bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    iam = session.client("iam")
    iam.update_account_password_policy(MinimumPasswordLength=8)  # weaker than the 14 characters required
    iam.create_user(UserName="carol", Tags=[{"Key": "Owner", "Value": "platform"}])
    iam.create_login_profile(UserName="carol", Password="Correct-Horse-9!")  # a console user without MFA
    return estate
