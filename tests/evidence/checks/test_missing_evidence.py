"""Checks are pure functions over evidence and gaps: whatever is missing becomes `error`, never silence or pass.
Built from in-memory evidence records, no AWS and no database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from evidence.checks.evaluate import evaluate_view
from evidence.checks.registry import check_ids
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import Finding, FindingStatus
from evidence.checks.view import EvidenceView, GapRecord
from evidence.store import EvidenceRecord

ACCOUNT, REGION = "111111111111", "us-east-1"
WHEN = datetime(2026, 11, 1, tzinfo=UTC)
ERROR = FindingStatus.ERROR
_ids = iter(range(1, 10_000))


def record(
    kind: str, resource_id: str, payload: Any, *, region: str = REGION, resource_type: str = ""
) -> EvidenceRecord:
    number = next(_ids)
    return EvidenceRecord(
        id=number,
        run_id=1,
        account_id=ACCOUNT,
        region=region,
        service=kind.split(".")[0],
        resource_type=resource_type or kind,
        resource_id=resource_id,
        kind=kind,
        observed_at=WHEN,
        owner=None,
        sha256=f"{number:064d}",
        payload=payload,
    )


def gap(kind: str, *, region: str = REGION, resource_id: str | None = None, operation: str = "Op") -> GapRecord:
    return GapRecord(ACCOUNT, region, "svc", operation, kind, resource_id, "AccessDenied", "denied", WHEN)


def scope() -> list[EvidenceRecord]:
    return [
        record("collection.account", f"arn:aws:iam::{ACCOUNT}:root", {}, region="global"),
        record("collection.region", f"{ACCOUNT}/{REGION}/region", {"RegionName": REGION}),
    ]


def listing(kind: str, ids: list[str], region: str = REGION) -> EvidenceRecord:
    return record(
        "listing",
        f"{ACCOUNT}/{region}/{kind}",
        {"resource_ids": ids, "count": len(ids)},
        region=region,
        resource_type=kind,
    )


def evaluate(records: list[EvidenceRecord], gaps: list[GapRecord] = ()) -> dict[str, list[Finding]]:  # type: ignore[assignment]
    findings = evaluate_view(EvidenceView([*scope(), *records], list(gaps)), thresholds=Thresholds(), now=WHEN)
    out: dict[str, list[Finding]] = {}
    for finding in findings:
        out.setdefault(finding.check_id, []).append(finding)
    return out


def test_nothing_collected_at_all_is_an_error_for_every_check() -> None:
    findings = evaluate([])
    assert {check_id for check_id, items in findings.items() if all(f.status == ERROR for f in items)} == set(findings)
    assert set(findings) == check_ids()  # every check spoke, and each only of what is missing
    volume = findings["ec2.ebs_volume_encrypted"][0]
    assert volume.reason == "evidence missing: no listing of ec2.volume was collected"


def test_a_listed_resource_without_its_evidence_is_an_error() -> None:
    arn = f"arn:aws:ec2:{REGION}:{ACCOUNT}:volume/vol-1"
    findings = evaluate([listing("ec2.volume", [arn])])
    [volume] = findings["ec2.ebs_volume_encrypted"]
    assert (volume.status, volume.resource_id) == (ERROR, arn)
    assert "no volume details was collected" in volume.reason


def test_a_failed_listing_is_an_error_naming_the_failed_call() -> None:
    findings = evaluate([], [gap("rds.db_instance", operation="DescribeDBInstances")])
    for check_id in ("rds.storage_encrypted", "rds.backup_retention", "rds.not_publicly_accessible"):
        [only] = findings[check_id]
        assert only.status == ERROR and only.resource_id == f"{ACCOUNT}/{REGION}/rds.db_instance"
        assert only.reason == "evidence missing: svc:DescribeDBInstances failed (AccessDenied: denied)"


def test_a_collector_that_broke_makes_its_missing_evidence_an_error() -> None:
    crash = GapRecord(ACCOUNT, REGION, "kms", "Collect", "collector.kms", None, "InternalError", "KeyError: 'x'", WHEN)
    [key] = evaluate([], [crash])["kms.key_rotation_enabled"]
    assert key.status == ERROR and "InternalError" in key.reason


def test_an_account_that_could_not_be_entered_is_an_error_for_every_check() -> None:
    other = "222222222222"
    entered = GapRecord(other, "global", "sts", "AssumeRole", "collection.account", None, "AccessDenied", "no", WHEN)
    findings = evaluate([], [entered])
    for items in findings.values():
        mine = [f for f in items if f.account_id == other]
        assert [(f.status, f.resource_id) for f in mine] == [(ERROR, f"arn:aws:iam::{other}:root")]


def test_a_refused_region_is_an_error_for_regional_checks_only() -> None:
    refused = GapRecord(
        ACCOUNT, "ap-east-1", "ec2", "DescribeRegions", "collection.region", None, "RegionNotEnabled", "x", WHEN
    )
    findings = evaluate([], [refused])
    assert any(f.region == "ap-east-1" for f in findings["guardduty.enabled"])
    assert not any(f.region == "ap-east-1" for f in findings["iam.root_mfa_enabled"])


def test_missing_rotation_status_of_a_customer_key_is_an_error_not_a_pass() -> None:
    arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k"
    meta = {"KeyManager": "CUSTOMER", "KeySpec": "SYMMETRIC_DEFAULT", "KeyState": "Enabled", "Origin": "AWS_KMS"}
    findings = evaluate(
        [listing("kms.key", [arn]), record("kms.key", arn, meta)], [gap("kms.key_rotation", resource_id=arn)]
    )
    [key] = findings["kms.key_rotation_enabled"]
    assert key.status == ERROR and key.resource_id == arn and key.evidence  # rests on the key it could see


def test_an_unknown_lambda_runtime_cannot_be_decided() -> None:
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f"
    findings = evaluate([listing("lambda.function", [arn]), record("lambda.function", arn, {"Runtime": "cobol1.0"})])
    [function] = findings["lambda.runtime_supported"]
    assert function.status == ERROR and "cobol1.0" in function.reason
