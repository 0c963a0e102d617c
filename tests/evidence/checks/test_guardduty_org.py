"""guardduty.findings_exported and guardduty.managed_by_organization, collected and evaluated.

moto has no ListPublishingDestinations / DescribePublishingDestination, so the export tests answer GuardDuty with
botocore's Stubber (shapes from the service model); the administrator tests run on moto, which keeps an account's
delegated administrator (GetAdministratorAccount, answered with AWS's field names:
auditpack.estate.detection.guardduty_administrator_as_aws)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from auditpack.estate.detection import guardduty_administrator_as_aws, plant_guardduty_administrator
from auditpack.estate.target import Target
from evidence.checks.evaluate import evaluate_run
from evidence.checks.types import FindingStatus
from evidence.store import EvidenceStore
from tests.evidence.collectors.harness import REGION, collect, refuse, run_collectors
from tests.moto_server import fake_aws_env

PASS, FAIL, ERROR = FindingStatus.PASS, FindingStatus.FAIL, FindingStatus.ERROR
ACCOUNT = "123456789012"  # moto's default account
ADMIN = "222222222222"
DETECTOR = "12abc34d567e8fa901bc2d34e56789f0"
BUCKET = "arn:aws:s3:::guardduty-findings-archive"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws(), guardduty_administrator_as_aws():
        yield boto3.Session(region_name=REGION)


def _stubbed(
    session: boto3.Session, destination: dict[str, Any] | None, *, refused: bool = False
) -> tuple[Any, Stubber]:
    client = session.client("guardduty", region_name=REGION)
    stub = Stubber(client)
    stub.add_response("list_detectors", {"DetectorIds": [DETECTOR]}, {})
    detector = {"ServiceRole": "AWSServiceRoleForAmazonGuardDuty", "Status": "ENABLED", "CreatedAt": "2025-01-07"}
    stub.add_response("get_detector", detector, {"DetectorId": DETECTOR})
    if refused:
        stub.add_client_error("list_publishing_destinations", "AccessDeniedException", http_status_code=403)
    else:
        listed = (
            [] if destination is None else [{k: destination[k] for k in ("DestinationId", "DestinationType", "Status")}]
        )
        stub.add_response("list_publishing_destinations", {"Destinations": listed}, {"DetectorId": DETECTOR})
        if destination is not None:
            stub.add_response(
                "describe_publishing_destination",
                {**destination, "PublishingFailureStartTimestamp": 0, "Tags": {}},
                {"DetectorId": DETECTOR, "DestinationId": destination["DestinationId"]},
            )
    administrator = {
        "AccountId": ADMIN,
        "InvitationId": "84b097800250d17d1872b34c4daadcf5",
        "RelationshipStatus": "Enabled",
    }
    stub.add_response("get_administrator_account", {"Administrator": administrator}, {"DetectorId": DETECTOR})
    return client, stub


def _destination(**properties: str) -> dict[str, Any]:
    return {
        "DestinationId": "a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7",
        "DestinationType": "S3",
        "Status": "PUBLISHING",
        "DestinationProperties": properties,
    }


def _export(store: EvidenceStore, session: boto3.Session, destination: dict[str, Any] | None, **kw: bool) -> Any:
    client, stub = _stubbed(session, destination, **kw)
    with stub:
        run = run_collectors(store, session, ["guardduty"], clients={"guardduty": client})
        stub.assert_no_pending_responses()
    [finding] = [f for f in evaluate_run(store, run.id) if f.check_id == "guardduty.findings_exported"]
    return finding, store.gaps(run.id)


def test_findings_exported_to_a_bucket_with_a_key_pass(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    finding, gaps = _export(sqlite_store, aws, _destination(DestinationArn=BUCKET, KmsKeyArn=KEY))
    assert gaps == []
    assert finding.status == PASS
    assert finding.resource_id == f"{ACCOUNT}/{REGION}/guardduty"
    assert finding.reason == f"findings are exported to {BUCKET}, encrypted with a KMS key"


def test_no_export_or_an_unencrypted_one_fails(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    none, _ = _export(sqlite_store, aws, None)
    assert none.status == FAIL and "only 90 days" in none.reason
    plain, _ = _export(sqlite_store, aws, _destination(DestinationArn=BUCKET))
    assert plain.status == FAIL and "with a KMS key" in plain.reason


def test_an_unreadable_export_is_an_error_never_a_pass(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    finding, gaps = _export(sqlite_store, aws, None, refused=True)
    assert [(g.operation, g.kind) for g in gaps] == [
        ("ListPublishingDestinations", "guardduty.publishing_destinations")
    ]
    assert finding.status == ERROR and "ListPublishingDestinations" in finding.reason


def test_moto_without_the_api_is_a_gap_and_an_error(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    aws.client("guardduty").create_detector(Enable=True)
    outcome = collect(sqlite_store, aws, ["guardduty"])
    [finding] = outcome.of("guardduty.findings_exported").values()
    assert finding.status == ERROR
    assert {g.operation for g in outcome.gaps()} == {"ListPublishingDestinations", "ListMembers"}


def test_a_member_of_the_delegated_administrator_passes(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    guardduty = aws.client("guardduty")
    guardduty.create_detector(Enable=True)
    plant_guardduty_administrator(Target.of(aws), administrator=ADMIN)
    [finding] = collect(sqlite_store, aws, ["guardduty"]).of("guardduty.managed_by_organization").values()
    assert finding.status == PASS
    assert finding.reason == f"administered by the delegated GuardDuty administrator {ADMIN}"


def _members_answer(session: boto3.Session, store: EvidenceStore, members: list[dict[str, Any]]) -> Any:
    """managed_by_organization for a detector without an administrator whose ListMembers (moto lacks it) answers
    `members`."""
    client = session.client("guardduty", region_name=REGION)
    with Stubber(client) as stub:
        stub.add_response("list_detectors", {"DetectorIds": [DETECTOR]}, {})
        stub.add_response("get_detector", {"ServiceRole": "x", "Status": "ENABLED"}, {"DetectorId": DETECTOR})
        stub.add_response("list_publishing_destinations", {"Destinations": []}, {"DetectorId": DETECTOR})
        stub.add_response("get_administrator_account", {"Administrator": {}}, {"DetectorId": DETECTOR})
        expected = {"DetectorId": DETECTOR, "OnlyAssociated": "true"}
        stub.add_response("list_members", {"Members": members}, expected)
        run = run_collectors(store, session, ["guardduty"], clients={"guardduty": client})
        stub.assert_no_pending_responses()
    [finding] = [f for f in evaluate_run(store, run.id) if f.check_id == "guardduty.managed_by_organization"]
    return finding


def _member(account: str, status: str) -> dict[str, Any]:
    return {
        "AccountId": account,
        "DetectorId": "f2baedb0ac74f8f42fc929e15EXAMPLE",
        "MasterId": ACCOUNT,
        "AdministratorId": ACCOUNT,
        "Email": "security@example.com",
        "RelationshipStatus": status,
        "UpdatedAt": "2025-01-07T09:30:00.000Z",
    }


def test_the_delegated_administrator_itself_passes(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    finding = _members_answer(aws, sqlite_store, [_member(ADMIN, "Enabled"), _member("333333333333", "Enabled")])
    assert finding.status == PASS
    assert finding.reason == "this account is the delegated GuardDuty administrator of 2 member account(s)"


def test_a_standalone_detector_or_none_fails(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    [none] = collect(sqlite_store, aws, ["guardduty"]).of("guardduty.managed_by_organization").values()
    assert none.status == FAIL and none.reason == "GuardDuty has no detector in this region"
    alone = _members_answer(aws, sqlite_store, [])
    assert alone.status == FAIL and "standalone" in alone.reason
    # a member that was invited but never accepted is not administered
    removed = _members_answer(aws, sqlite_store, [_member(ADMIN, "Removed")])
    assert removed.status == FAIL


def test_without_an_administrator_moto_cannot_tell_and_it_is_an_error(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    aws.client("guardduty").create_detector(Enable=True)
    outcome = collect(sqlite_store, aws, ["guardduty"])
    [finding] = outcome.of("guardduty.managed_by_organization").values()
    assert finding.status == ERROR and "ListMembers" in finding.reason


def test_a_refused_administrator_read_is_an_error(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    guardduty = aws.client("guardduty")
    guardduty.create_detector(Enable=True)
    plant_guardduty_administrator(Target.of(aws), administrator=ADMIN)
    refuse(aws, "guardduty.GetAdministratorAccount")
    outcome = collect(sqlite_store, aws, ["guardduty"])
    [finding] = outcome.of("guardduty.managed_by_organization").values()
    assert finding.status == ERROR and "GetAdministratorAccount" in finding.reason
