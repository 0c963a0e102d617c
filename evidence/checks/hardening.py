"""Hardening checks: instance metadata service v2, where key material comes from."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from evidence.checks.registry import check
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import Finding
from evidence.checks.verdicts import ERROR, FAIL, NA, PASS, listed_records, verdict
from evidence.checks.view import EvidenceView

KMS_GENERATED = ("AWS_KMS", "AWS_CLOUDHSM")


@check("ec2.imdsv2_required", kinds=("ec2.instance",), regional=True)
def imdsv2_required(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "ec2.imdsv2_required"
    for instance in listed_records(view, check_id, "ec2.instance", resource_type="instance", what="instance details"):
        if isinstance(instance, Finding):
            yield instance
            continue
        options = instance.payload.get("MetadataOptions")
        if not isinstance(options, dict) or "HttpTokens" not in options:
            yield verdict(check_id, ERROR, instance, "cannot decide: the instance description has no metadata options")
        elif options.get("HttpEndpoint") == "disabled":
            yield verdict(check_id, PASS, instance, "the instance metadata service is disabled")
        elif options.get("HttpTokens") == "required":
            yield verdict(check_id, PASS, instance, "the metadata service requires session tokens (IMDSv2)")
        else:
            yield verdict(check_id, FAIL, instance, "the metadata service answers token-less IMDSv1 requests")


@check("kms.key_material_in_kms", kinds=("kms.key",), regional=True)
def key_material_in_kms(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "kms.key_material_in_kms"
    for key in listed_records(view, check_id, "kms.key", resource_type="key", what="key metadata"):
        if isinstance(key, Finding):
            yield key
            continue
        meta = key.payload
        origin = meta.get("Origin")
        if meta.get("KeyManager") != "CUSTOMER":
            yield verdict(check_id, NA, key, "an AWS-managed key (its material is generated and held by KMS)")
        elif meta.get("KeyState") in ("PendingDeletion", "PendingReplicaDeletion"):
            yield verdict(check_id, NA, key, f"the key is {meta.get('KeyState')}")
        elif origin in KMS_GENERATED:
            yield verdict(check_id, PASS, key, f"key material generated and held in {origin} hardware, never exported")
        elif origin == "EXTERNAL":
            yield verdict(check_id, FAIL, key, "imported key material: generated and transported outside KMS")
        else:
            yield verdict(check_id, FAIL, key, f"key material held outside KMS ({origin})")
