"""The kms.* checks: customer-managed keys' rotation and where their key material comes from (metadata in
kms.yaml)."""

from __future__ import annotations

from evidence.checks.types import Finding
from evidence.checks.unit import Check, each
from evidence.store import EvidenceRecord

KEY, ROTATION = "kms.key", "kms.key_rotation"
KMS_GENERATED = ("AWS_KMS", "AWS_CLOUDHSM")


@each(KEY, resource_type="key", what="key metadata", reads=(ROTATION,))
def key_rotation_enabled(c: Check, key: EvidenceRecord) -> Finding:
    meta = key.payload
    if meta.get("KeyManager") != "CUSTOMER":
        return c.not_applicable(key, "an AWS-managed key (AWS rotates it)")
    if meta.get("KeySpec", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT":
        return c.not_applicable(key, f"a {meta.get('KeySpec')} key (automatic rotation applies to symmetric keys)")
    if meta.get("KeyState") != "Enabled":
        return c.not_applicable(key, f"the key is {meta.get('KeyState')}")
    if meta.get("Origin", "AWS_KMS") != "AWS_KMS":
        return c.not_applicable(key, f"key material from {meta.get('Origin')} cannot rotate automatically")
    rotation = c.need(ROTATION, base=key, resource_type="key", what="key rotation status")
    if rotation.payload.get("KeyRotationEnabled") is True:
        return c.passed(key, "automatic key rotation is on", also=[rotation])
    return c.failed(key, "automatic key rotation is off", also=[rotation])


@each(KEY, resource_type="key", what="key metadata")
def key_material_in_kms(c: Check, key: EvidenceRecord) -> Finding:
    meta = key.payload
    origin = meta.get("Origin")
    if meta.get("KeyManager") != "CUSTOMER":
        return c.not_applicable(key, "an AWS-managed key (its material is generated and held by KMS)")
    if meta.get("KeyState") in ("PendingDeletion", "PendingReplicaDeletion"):
        return c.not_applicable(key, f"the key is {meta.get('KeyState')}")
    if origin in KMS_GENERATED:
        return c.passed(key, f"key material generated and held in {origin} hardware, never exported")
    if origin == "EXTERNAL":
        return c.failed(key, "imported key material: generated and transported outside KMS")
    return c.failed(key, f"key material held outside KMS ({origin})")
