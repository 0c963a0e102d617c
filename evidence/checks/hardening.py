"""Hardening and governance checks: instance metadata service v2, where key material comes from, secrets in
Lambda environment variables, and data stores carrying a classification."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

from evidence.checks.registry import check
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import Finding
from evidence.checks.verdicts import (
    ERROR,
    FAIL,
    NA,
    PASS,
    coverage_errors,
    gap_error,
    listed_records,
    needed,
    verdict,
)
from evidence.checks.view import EvidenceView
from evidence.redaction import is_secret_name
from evidence.store import EvidenceRecord

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


def _tag_value(tags: object, keys: tuple[str, ...]) -> tuple[str, str] | None:
    """The first classification tag (key, value) present with a value, in the order of `keys`."""
    pairs = {t.get("Key"): t.get("Value") for t in tags if isinstance(t, dict)} if isinstance(tags, list) else {}
    return next(((k, str(pairs[k])) for k in keys if pairs.get(k)), None)


def _classified(
    check_id: str,
    store: EvidenceRecord,
    tags: object,
    keys: tuple[str, ...],
    also: tuple[EvidenceRecord, ...] | list[EvidenceRecord] = (),
) -> Finding:
    found = _tag_value(tags, keys)
    if found:
        return verdict(check_id, PASS, store, f"classified {found[1]} ({found[0]})", also=also)
    return verdict(check_id, FAIL, store, f"no classification tag (one of {', '.join(keys)})", also=also)


@check(
    "tagging.data_classification",
    kinds=("s3.bucket", "rds.db_instance", "dynamodb.table", "dynamodb.table_tags"),
    regional=True,
)
def data_classification(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    """One finding per data store (S3 bucket, RDS instance, DynamoDB table): it carries a classification tag."""
    check_id = "tagging.data_classification"
    keys = thresholds.classification_tag_keys
    for bucket in listed_records(
        view, check_id, "s3.bucket", resource_type="bucket", what="bucket details", regional=False
    ):
        if isinstance(bucket, Finding):
            yield bucket
        elif bucket.payload.get("Tags") is None:  # the tagging read failed: a gap, never "untagged"
            gaps = view.gaps("s3.bucket", account_id=bucket.account_id, resource_id=bucket.resource_id)
            yield (
                gap_error(
                    check_id,
                    gaps[0],
                    resource_id=bucket.resource_id,
                    resource_type="bucket",
                    owner=bucket.owner,
                    evidence=[bucket],
                )
                if gaps
                else verdict(check_id, ERROR, bucket, "cannot decide: the bucket's tags were not read")
            )
        else:
            yield _classified(check_id, bucket, bucket.payload["Tags"], keys)
    for db in listed_records(
        view, check_id, "rds.db_instance", resource_type="db-instance", what="DB instance details"
    ):
        yield db if isinstance(db, Finding) else _classified(check_id, db, db.payload.get("TagList") or [], keys)
    yield from coverage_errors(view, check_id, "dynamodb.table", regional=True, resource_type="table")
    for listed in view.listed("dynamodb.table"):
        tags = needed(
            view,
            check_id,
            "dynamodb.table_tags",
            account_id=listed.account_id,
            resource_id=listed.resource_id,
            resource_type="table",
            region=listed.region,
            what="table tags",
            base=listed.listing,
        )
        yield (
            tags
            if isinstance(tags, Finding)
            else _classified(check_id, tags, tags.payload.get("Tags"), keys, also=[listed.listing])
        )


# Names that refer to where a secret is kept (Secrets Manager, Parameter Store, KMS) rather than holding one.
_REFERENCE_ENDINGS = ("arn", "name", "id", "path", "param", "parameter", "ref", "uri", "url", "file")


def secret_variables(variables: object) -> list[str]:
    """Environment variable names that look like they hold a secret (values are never stored, names are)."""
    if not isinstance(variables, dict):
        return []
    return sorted(
        name
        for name in variables
        if is_secret_name(name) and not re.sub(r"[^a-z0-9]", "", name.lower()).endswith(_REFERENCE_ENDINGS)
    )


@check("lambda.no_secrets_in_environment", kinds=("lambda.function",), regional=True)
def no_secrets_in_environment(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "lambda.no_secrets_in_environment"
    for function in listed_records(
        view, check_id, "lambda.function", resource_type="function", what="function details"
    ):
        if isinstance(function, Finding):
            yield function
            continue
        names = secret_variables((function.payload.get("Environment") or {}).get("Variables"))
        if names:
            yield verdict(check_id, FAIL, function, f"secrets kept in environment variables: {', '.join(names)}")
        else:
            yield verdict(check_id, PASS, function, "no environment variable is named like a secret")
