"""Whose KMS key a resource is encrypted with: a customer-managed key (its key policy, rotation and deletion are the
customer's to decide) or an AWS managed one (aws/s3, aws/dynamodb: any principal of the account that may use the
service may decrypt through it).

A resource names its key by key ARN, key id, alias name or alias ARN. The answer comes from the key's own
description (`KeyManager`), reached through the region's alias list when the resource names an alias; the
reserved `alias/aws/` names belong to AWS managed keys only, and an AWS managed key is never usable from another
account, so a key in another account is the customer's.
"""

from __future__ import annotations

from dataclasses import dataclass

from evidence.checks.unit import Check, Unavailable
from evidence.checks.verdicts import setting_id
from evidence.store import EvidenceRecord

KEY, ALIASES = "kms.key", "kms.aliases"
AWS_ALIASES = "alias/aws/"


@dataclass(frozen=True, slots=True)
class KeyOwner:
    customer: bool
    describe: str  # e.g. "the customer-managed key arn:aws:kms:...:key/1234"
    evidence: tuple[EvidenceRecord, ...] = ()


def _aliases(c: Check, base: EvidenceRecord, region: str) -> EvidenceRecord:
    return c.setting(
        ALIASES,
        base.account_id,
        region,
        resource_id=setting_id(base.account_id, region, "kms-aliases"),
        resource_type="aliases",
        what="KMS alias list",
    )


def _undecided(c: Check, base: EvidenceRecord, why: str) -> Unavailable:
    return Unavailable(c.error(base, f"cannot decide whose key encrypts it: {why}"))


def key_owner(c: Check, base: EvidenceRecord, reference: str, *, region: str) -> KeyOwner:
    """Whether the key `reference` (as `base`'s resource names it, in `region`) is customer-managed; raises
    Unavailable (an error standing for `base`) when the evidence needed to tell is missing."""
    partition, key_region, account, resource = "aws", region, base.account_id, reference
    if reference.startswith("arn:"):
        parts = reference.split(":", 5)
        if len(parts) != 6:
            raise _undecided(c, base, f"{reference} is not a KMS key or alias ARN")
        partition, key_region, account, resource = parts[1], parts[3], parts[4], parts[5]
    if resource.startswith(AWS_ALIASES):
        return KeyOwner(False, f"the AWS managed key {resource}")
    if account != base.account_id:
        return KeyOwner(True, f"the key {reference} of account {account} (AWS managed keys are never shared)")
    used: list[EvidenceRecord] = []
    if resource.startswith("alias/"):
        aliases = _aliases(c, base, key_region)
        used.append(aliases)
        target = next(
            (a.get("TargetKeyId") for a in aliases.payload.get("Aliases", []) if a.get("AliasName") == resource), None
        )
        if not target:
            raise _undecided(c, base, f"{resource} names no key in {key_region}")
        resource = f"key/{target}"
    key_id = resource.removeprefix("key/")
    arn = f"arn:{partition}:kms:{key_region}:{account}:key/{key_id}"
    key = c.need(KEY, base=base, key=arn, what="KMS key details")
    used.append(key)
    if key.payload.get("KeyManager") == "CUSTOMER" and not _named_as_aws(c, base, key_region, key_id):
        return KeyOwner(True, f"the customer-managed key {arn}", tuple(used))
    return KeyOwner(False, f"the AWS managed key {arn}", tuple(used))


def _named_as_aws(c: Check, base: EvidenceRecord, region: str, key_id: str) -> bool:
    """Whether a reserved alias/aws/ name points at the key (a second sign of an AWS managed key, where the
    region's alias list was read; `KeyManager` alone decides otherwise)."""
    records = c.view.at(ALIASES, base.account_id, region)
    aliases = records[0].payload.get("Aliases", []) if records else []
    return any(a.get("TargetKeyId") == key_id and str(a.get("AliasName", "")).startswith(AWS_ALIASES) for a in aliases)
