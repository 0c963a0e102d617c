"""Slow and large IAM answers: the credential report is generated asynchronously (polled with a growing delay and
a bound, generated again when it expired), and GetAccountAuthorizationDetails comes in pages. moto answers both at
once in one piece, so these paths are answered by botocore's Stubber; waiting is injected, never slept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from evidence.checks.evaluate import evaluate_run
from evidence.checks.types import FindingStatus
from evidence.collectors.iam import AUTHORIZATION_PAGE_SIZE, REPORT_POLLS, REPORT_REGENERATIONS
from evidence.store import EvidenceStore
from tests.evidence.collectors.harness import REGION, Outcome, run_collectors
from tests.moto_server import fake_aws_env

GENERATED = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)
HEADER = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,"
    "mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,"
    "access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,"
    "access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
    "cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
)
USER_CHECKS = ("iam.user_mfa_enabled", "iam.access_keys_rotated", "iam.unused_credentials_disabled")


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def _row(account: str, name: str) -> str:
    return (
        f"{name},arn:aws:iam::{account}:user/{name},2027-01-01T00:00:00+00:00,true,2027-02-27T08:00:00+00:00,"
        "2027-01-01T00:00:00+00:00,N/A,true,"
        "false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A"
    )


def _user(account: str, name: str) -> dict[str, Any]:
    return {
        "UserName": name,
        "UserId": f"AIDA{name.upper():0<16}"[:21],
        "Arn": f"arn:aws:iam::{account}:user/{name}",
        "Path": "/",
        "CreateDate": datetime(2027, 1, 1, tzinfo=UTC),
        "GroupList": [],
        "AttachedManagedPolicies": [],
        "UserPolicyList": [],
    }


def _details(stub: Stubber, account: str, pages: list[list[str]]) -> None:
    """GetAccountAuthorizationDetails answering `pages` of user names, each page asked for by its Marker."""
    for number, names in enumerate(pages):
        expected: dict[str, Any] = {"Filter": ["User", "LocalManagedPolicy"], "MaxItems": AUTHORIZATION_PAGE_SIZE}
        if number:
            expected["Marker"] = f"page-{number}"
        last = number == len(pages) - 1
        answer: dict[str, Any] = {"UserDetailList": [_user(account, n) for n in names], "Policies": []}
        answer |= {"IsTruncated": False} if last else {"IsTruncated": True, "Marker": f"page-{number + 1}"}
        stub.add_response("get_account_authorization_details", answer, expected)


def _prelude(stub: Stubber, account: str, pages: list[list[str]] | None = None) -> None:
    """What the IAM collector asks before the credential report."""
    stub.add_response("get_account_summary", {"SummaryMap": {"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0}})
    stub.add_client_error("get_account_password_policy", "NoSuchEntity", http_status_code=404)
    _details(stub, account, pages or [[]])


def _generate(stub: Stubber, *states: str) -> None:
    for state in states:
        stub.add_response("generate_credential_report", {"State": state, "Description": f"report {state.lower()}"})


def _report(stub: Stubber, account: str, *names: str) -> None:
    content = "\n".join([HEADER, *(_row(account, n) for n in names)]).encode()
    answer = {"Content": content, "ReportFormat": "text/csv", "GeneratedTime": GENERATED}
    stub.add_response("get_credential_report", answer)


def _collect(store: EvidenceStore, session: boto3.Session, iam: Any, waits: list[float]) -> Outcome:
    run = run_collectors(store, session, ["iam"], clients={"iam": iam}, sleep=waits.append)
    return Outcome(store=store, run_id=run.id, findings=evaluate_run(store, run.id))


def _account(session: boto3.Session) -> str:
    return str(session.client("sts").get_caller_identity()["Account"])


def test_a_report_in_progress_is_polled_until_it_is_ready(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    account = _account(aws)
    iam = aws.client("iam")
    waits: list[float] = []
    with Stubber(iam) as stub:
        _prelude(stub, account, [["alice"]])
        _generate(stub, "STARTED", "INPROGRESS", "COMPLETE")
        stub.add_client_error("get_credential_report", "ReportInProgress", http_status_code=404)
        _generate(stub, "COMPLETE")
        _report(stub, account, "alice")
        outcome = _collect(sqlite_store, aws, iam, waits)
        stub.assert_no_pending_responses()
    assert waits == [1.0, 2.0, 4.0]  # doubling, and only while the report was not ready
    assert outcome.gaps() == []
    assert list(outcome.evidence("iam.credential_report_user")) == [f"arn:aws:iam::{account}:user/alice"]
    assert outcome.of("iam.user_mfa_enabled")["alice"].status == FindingStatus.PASS


def test_an_expired_report_is_generated_again(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    account = _account(aws)
    iam = aws.client("iam")
    waits: list[float] = []
    with Stubber(iam) as stub:
        _prelude(stub, account)
        _generate(stub, "COMPLETE")
        stub.add_client_error("get_credential_report", "ReportExpired", http_status_code=410)
        _generate(stub, "STARTED", "COMPLETE")
        _report(stub, account, "bob")
        outcome = _collect(sqlite_store, aws, iam, waits)
        stub.assert_no_pending_responses()
    assert waits == [1.0]
    assert outcome.gaps() == []
    assert list(outcome.evidence("iam.credential_report_user")) == [f"arn:aws:iam::{account}:user/bob"]


def _no_user_check_passes(outcome: Outcome) -> None:
    user_findings = [f for f in outcome.findings if f.check_id in USER_CHECKS]
    assert {f.check_id for f in user_findings} == set(USER_CHECKS)
    assert {f.status for f in user_findings} == {FindingStatus.ERROR}


def test_a_report_never_ready_is_a_gap_saying_how_long_it_waited(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    account = _account(aws)
    iam = aws.client("iam")
    waits: list[float] = []
    with Stubber(iam) as stub:
        _prelude(stub, account)
        _generate(stub, *["INPROGRESS"] * (REPORT_POLLS + 1))
        outcome = _collect(sqlite_store, aws, iam, waits)
        stub.assert_no_pending_responses()
    assert len(waits) == REPORT_POLLS and max(waits) == 10.0  # the delay grows, up to its cap
    [gap] = outcome.gaps()
    assert (gap.operation, gap.kind, gap.error_code) == (
        "GenerateCredentialReport",
        "iam.credential_report_user",
        "ReportInProgress",
    )
    assert gap.message == (
        f"the credential report was not ready after {REPORT_POLLS} polls over {sum(waits):.0f}s "
        "(last state: INPROGRESS)"
    )
    assert outcome.evidence("iam.credential_report_user") == {}
    _no_user_check_passes(outcome)


def test_a_report_that_keeps_expiring_is_a_gap(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    account = _account(aws)
    iam = aws.client("iam")
    with Stubber(iam) as stub:
        _prelude(stub, account)
        for _ in range(REPORT_REGENERATIONS + 1):
            _generate(stub, "COMPLETE")
            stub.add_client_error(
                "get_credential_report", "ReportNotPresent", "The report is not present", http_status_code=410
            )
        outcome = _collect(sqlite_store, aws, iam, [])
        stub.assert_no_pending_responses()
    [gap] = outcome.gaps()
    assert (gap.operation, gap.error_code) == ("GetCredentialReport", "ReportNotPresent")
    assert gap.message == (
        f"the credential report was still ReportNotPresent after generating it {REPORT_REGENERATIONS + 1} times "
        "(The report is not present)"
    )
    _no_user_check_passes(outcome)


def test_authorization_details_are_read_page_by_page(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    account = _account(aws)
    iam = aws.client("iam")
    with Stubber(iam) as stub:
        _prelude(stub, account, [["alice", "bob"], ["carol"], ["dave"]])
        _generate(stub, "COMPLETE")
        _report(stub, account, "alice", "bob", "carol", "dave")
        outcome = _collect(sqlite_store, aws, iam, [])
        stub.assert_no_pending_responses()  # every page was asked for, with its Marker and MaxItems
    users = outcome.evidence("iam.user")
    assert sorted(r.payload["UserName"] for r in users.values()) == ["alice", "bob", "carol", "dave"]
    [listing] = [r for r in outcome.evidence("listing").values() if r.resource_type == "iam.user"]
    assert listing.payload["count"] == 4
