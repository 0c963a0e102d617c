"""A small estate for the API's end-to-end tests: one account, one region, one compliant and one non-compliant
resource of a few kinds. Planted with the estate builder (`auditpack.estate`) against whatever endpoint the
session points at (moto_server here), so the collection stays a few seconds long."""

from __future__ import annotations

from dataclasses import dataclass

import boto3

from auditpack.estate.iam import User, plant_password_policy, plant_user
from auditpack.estate.s3 import Bucket, plant_bucket
from auditpack.estate.target import Target

REGION = "us-east-1"
ONLY_ENCRYPTION = {"tls_only": False, "block_public_access": False, "versioning": False}


@dataclass(frozen=True)
class SmallEstate:
    account: str
    secure_bucket: str = "records-encrypted"
    plain_bucket: str = "records-plain"


def build_small_estate(session: boto3.Session) -> SmallEstate:
    target = Target.of(session, REGION)
    estate = SmallEstate(account=target.account_id)
    plant_bucket(target, Bucket(name=estate.secure_bucket, region=REGION, encryption="aws:kms", **ONLY_ENCRYPTION))
    plant_bucket(target, Bucket(name=estate.plain_bucket, region=REGION, encryption=None, **ONLY_ENCRYPTION))
    plant_password_policy(target, {"MinimumPasswordLength": 8})  # weaker than the 14 characters required
    # A console user without MFA.
    plant_user(target, User(name="carol", owner="platform", console=True), password="Correct-Horse-9!")
    return estate
