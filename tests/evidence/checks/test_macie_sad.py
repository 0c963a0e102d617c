"""macie.no_full_track_data_stored and macie.no_card_verification_codes_stored, collected and evaluated. moto has no
Macie findings, automated discovery or inspection templates, so Macie answers through botocore's Stubber (shapes
from the service model), which also checks what the collector asks for.

A finding of the data type fails, naming the object, whatever else is known; finding none passes only where
automated discovery runs and does not exclude the identifier; anything less is an error, never a pass."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from evidence.checks.types import Finding, FindingStatus
from evidence.models import Run
from evidence.store import EvidenceStore
from tests.evidence.collectors.one_account import REGION, collect_account, evidence, findings
from tests.moto_server import fake_aws_env
from tests.scenario import Collected

PASS, FAIL, ERROR = FindingStatus.PASS, FindingStatus.FAIL, FindingStatus.ERROR
TRACK, CVV = "macie.no_full_track_data_stored", "macie.no_card_verification_codes_stored"
ACCOUNT = "123456789012"  # moto's default account
TEMPLATE = "7f3c9e21a1b2c3d4"
SESSION = {"status": "ENABLED", "findingPublishingFrequency": "FIFTEEN_MINUTES", "serviceRole": "arn:aws:iam::x:role/m"}
CRITERIA = {
    "criterion": {
        "classificationDetails.result.sensitiveData.detections.type": {
            "eq": ["CREDIT_CARD_MAGNETIC_STRIPE", "CREDIT_CARD_SECURITY_CODE"]
        },
        "archived": {"eq": ["false"]},
    }
}


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def discovery(status: str = "ENABLED") -> tuple[str, dict[str, Any], dict[str, Any]]:
    answer = {"status": status, "sensitivityInspectionTemplateId": TEMPLATE, "autoEnableOrganizationMembers": "ALL"}
    return "get_automated_discovery_configuration", answer, {}


def template(*excluded: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    answer = {
        "sensitivityInspectionTemplateId": TEMPLATE,
        "name": "automated-sensitive-data-discovery",
        "excludes": {"managedDataIdentifierIds": list(excluded)},
        "includes": {"managedDataIdentifierIds": [], "customDataIdentifierIds": [], "allowListIds": []},
    }
    return "get_sensitivity_inspection_template", answer, {"id": TEMPLATE}


def listed(*ids: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    return "list_findings", {"findingIds": list(ids)}, {"findingCriteria": CRITERIA}


def macie_finding(finding_id: str, bucket: str, key: str, **detected: int) -> dict[str, Any]:
    """A sensitive data finding as GetFindings returns it: `detected` maps managed data identifiers to counts."""
    return {
        "id": finding_id,
        "accountId": ACCOUNT,
        "region": REGION,
        "type": "SensitiveData:S3Object/Financial",
        "category": "CLASSIFICATION",
        "archived": False,
        "count": 1,
        "severity": {"description": "High", "score": 3},
        "resourcesAffected": {
            "s3Bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}", "tags": [{"key": "team", "value": "x"}]},
            "s3Object": {"key": key, "path": f"{bucket}/{key}", "size": 2048},
        },
        "classificationDetails": {
            "originType": "AUTOMATED_SENSITIVE_DATA_DISCOVERY",
            "result": {
                "sensitiveData": [
                    {
                        "category": "FINANCIAL_INFORMATION",
                        "detections": [{"type": t, "count": n} for t, n in detected.items()],
                        "totalCount": sum(detected.values()),
                    }
                ]
            },
        },
    }


def _run(
    aws: boto3.Session, store: EvidenceStore, *calls: tuple[str, Any, dict[str, Any]]
) -> tuple[Run, dict[str, list[Finding]]]:
    """Collect Macie with `calls` answered in order ((operation, answer or error code, expected parameters)) after
    GetMacieSession; the run and the findings of both checks."""
    client = aws.client("macie2", region_name=REGION)
    with Stubber(client) as stub:
        stub.add_response("get_macie_session", SESSION, {})
        for operation, answer, expected in calls:
            if isinstance(answer, str):
                stub.add_client_error(operation, answer, http_status_code=403, expected_params=expected)
            else:
                stub.add_response(operation, answer, expected)
        run = collect_account(store, aws, ["macie"], clients={("macie2", REGION): client})
        stub.assert_no_pending_responses()
    return run, {check: findings(store, run, check) for check in (TRACK, CVV)}


def test_stored_track_data_and_verification_codes_fail_naming_the_objects(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    stripe = macie_finding("a1", "card-exports", "batch/2025-01.csv", CREDIT_CARD_MAGNETIC_STRIPE=3)
    cvv = macie_finding("b2", "support-uploads", "tickets/4711.txt", CREDIT_CARD_SECURITY_CODE=1, CREDIT_CARD_NUMBER=1)
    run, result = _run(
        aws,
        sqlite_store,
        discovery(),
        template(),
        listed("a1", "b2"),
        ("get_findings", {"findings": [stripe, cvv]}, {"findingIds": ["a1", "b2"]}),
    )
    [track] = result[TRACK]
    assert (track.status, track.resource_id) == (FAIL, "arn:aws:s3:::card-exports/batch/2025-01.csv")
    assert track.reason == (
        "Macie found full track (magnetic stripe) data in s3://card-exports/batch/2025-01.csv "
        "(3 occurrences; finding a1)"
    )
    [code] = result[CVV]
    assert (code.status, code.resource_id) == (FAIL, "arn:aws:s3:::support-uploads/tickets/4711.txt")
    assert code.reason.endswith("(1 occurrence; finding b2)")
    # stored: where and what, never the bucket's tags or the object's other attributes
    [kept, _] = sorted(evidence(sqlite_store, run, "macie.sensitive_data_finding"), key=lambda r: r.resource_id)
    assert kept.payload["resourcesAffected"] == {
        "s3Bucket": {"name": "card-exports", "arn": "arn:aws:s3:::card-exports"},
        "s3Object": {"key": "batch/2025-01.csv", "path": "card-exports/batch/2025-01.csv"},
    }


def test_no_findings_pass_only_where_discovery_looks_for_the_data(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    _, result = _run(aws, sqlite_store, discovery(), template(), listed())
    assert [(f.status, f.reason) for f in result[TRACK]] == [
        (
            PASS,
            "Macie's automated discovery looks for full track (magnetic stripe) data (CREDIT_CARD_MAGNETIC_STRIPE) "
            "and no active finding reports any",
        )
    ]
    assert [f.status for f in result[CVV]] == [PASS]
    assert result[TRACK][0].resource_id == f"{ACCOUNT}/{REGION}/macie"
    # the template leaves verification codes out: finding none of them proves nothing
    _, result = _run(aws, sqlite_store, discovery(), template("CREDIT_CARD_SECURITY_CODE"), listed())
    assert [f.status for f in result[TRACK]] == [PASS]
    [excluded] = result[CVV]
    assert excluded.status == ERROR and "excludes CREDIT_CARD_SECURITY_CODE" in excluded.reason


def test_without_automated_discovery_no_findings_is_an_error_but_a_finding_still_fails(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    _, result = _run(aws, sqlite_store, discovery("DISABLED"), listed())  # no template read when discovery is off
    for check in (TRACK, CVV):
        [finding] = result[check]
        assert finding.status == ERROR
        assert finding.reason.startswith("cannot decide: Macie's automated sensitive data discovery is disabled here")
    stripe = macie_finding("c3", "legacy", "pos/dump.bin", CREDIT_CARD_MAGNETIC_STRIPE=12)
    _, result = _run(
        aws,
        sqlite_store,
        discovery("DISABLED"),
        listed("c3"),
        ("get_findings", {"findings": [stripe]}, {"findingIds": ["c3"]}),
    )
    assert [f.status for f in result[TRACK]] == [FAIL]
    assert [f.status for f in result[CVV]] == [ERROR]


def test_refused_reads_are_errors_never_passes(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    _, result = _run(
        aws,
        sqlite_store,
        discovery(),
        template(),
        ("list_findings", "AccessDeniedException", {"findingCriteria": CRITERIA}),
    )
    for check in (TRACK, CVV):
        [finding] = result[check]
        assert finding.status == ERROR and "macie2:ListFindings failed (AccessDeniedException" in finding.reason
    # the details of listed findings refused: an error for each, and no pass for the region
    _, result = _run(
        aws,
        sqlite_store,
        ("get_automated_discovery_configuration", "AccessDeniedException", {}),
        listed("d4", "e5"),
        ("get_findings", "AccessDeniedException", {"findingIds": ["d4", "e5"]}),
    )
    for check in (TRACK, CVV):
        assert sorted((f.status, f.resource_id) for f in result[check]) == [(ERROR, "d4"), (ERROR, "e5")]
        assert all("macie2:GetFindings failed" in f.reason for f in result[check])


def test_where_macie_is_off_nothing_is_read_and_nothing_passes(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    client = aws.client("macie2", region_name=REGION)
    with Stubber(client) as stub:
        stub.add_client_error("get_macie_session", "AccessDeniedException", "Macie is not enabled.", 403)
        run = collect_account(sqlite_store, aws, ["macie"], clients={("macie2", REGION): client})
        stub.assert_no_pending_responses()
    for check in (TRACK, CVV):
        [finding] = findings(sqlite_store, run, check)
        assert finding.status == ERROR and finding.reason.startswith("cannot decide: Macie is not enabled here")


def test_against_moto_the_findings_are_gaps(collected: Collected) -> None:
    management = collected.estate.management
    east = collected.finding(TRACK, f"{management}/us-east-1/macie.sensitive_data_finding")
    assert east.status == ERROR and "macie2:ListFindings failed" in east.reason
    west = collected.finding(CVV, f"{management}/eu-west-1/macie")  # Macie switched off there
    assert west.status == ERROR and west.reason.startswith("cannot decide: Macie is not enabled here")
