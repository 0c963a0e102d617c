"""KMS: customer-managed keys, with an alias, rotation, and imported key material when asked."""

from __future__ import annotations

from typing import Literal

from auditpack.estate.target import Spec, Target


class Key(Spec):
    alias: str | None  # without "alias/"; None: a key with no alias
    description: str
    rotation: bool
    owner: str | None = None
    origin: Literal["AWS_KMS", "EXTERNAL"] = "AWS_KMS"  # EXTERNAL: imported material (cannot rotate)


def plant_key(target: Target, key: Key) -> str:
    """The key; its ARN."""
    kms = target.client("kms")
    tags = [{"TagKey": "Owner", "TagValue": key.owner}] if key.owner else []
    origin = {"Origin": key.origin} if key.origin != "AWS_KMS" else {}
    metadata = kms.create_key(Description=key.description, Tags=tags, **origin)["KeyMetadata"]
    if key.alias is not None:
        kms.create_alias(AliasName=f"alias/{key.alias}", TargetKeyId=metadata["KeyId"])
    if key.rotation:
        kms.enable_key_rotation(KeyId=metadata["KeyId"])
    target.count("KMS keys")
    return str(metadata["Arn"])
