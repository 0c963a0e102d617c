"""`auditpack findings --push-securityhub`: the import into moto's Security Hub, in batches of 100, into each
finding's own account; throttling and FailedFindings (which moto never answers) through botocore's Stubber."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.stub import Stubber
from moto import mock_aws

from evidence.collectors.registry import iam_action, iam_policy
from reports.findings_export import finding_uid
from reports.securityhub import PUSH_CALLS, SecurityHubPushError, push_findings
from tests.moto_server import fake_aws_env
from tests.reports.conftest import Interchange, cli

REGION = "us-east-1"


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Every AWS call any client makes, as ("service.Operation", params) (the CLI builds its own sessions)."""
    calls: list[tuple[str, dict[str, Any]]] = []
    original = BaseClient._make_api_call

    def record(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        calls.append((f"{client.meta.service_model.service_name}.{operation}", params))
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", record)
    return calls


def _held(account: str) -> list[dict[str, Any]]:
    """What moto's Security Hub of `account` holds (read with that account's credentials)."""
    role = f"arn:aws:iam::{account}:role/reader"
    sts = boto3.client("sts", region_name=REGION)
    credentials = sts.assume_role(RoleArn=role, RoleSessionName="tests")["Credentials"]
    client = boto3.client(
        "securityhub",
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    return [f for page in client.get_paginator("get_findings").paginate() for f in page["Findings"]]


@pytest.fixture
def moto_hub() -> Iterator[str]:
    with fake_aws_env(), mock_aws():
        yield boto3.client("sts", region_name=REGION).get_caller_identity()["Account"]


def test_push_imports_every_finding_into_its_own_account_in_batches_of_100(
    interchange: Interchange, moto_hub: str, recorded: list, capsys: pytest.CaptureFixture[str]
) -> None:
    accounts = Counter(d["AwsAccountId"] for d in interchange.asff)
    assert moto_hub in accounts and len(accounts) > 1  # the scenario is an Organization

    refused = cli(interchange.env(), "findings", "--push-securityhub", "--region", REGION)
    assert refused == 2  # other accounts' findings need their role: nothing is sent
    others = sorted(a for a in accounts if a != moto_hub)
    assert f"findings of account(s) {', '.join(others)} cannot be imported" in capsys.readouterr().err
    assert not [c for c, _ in recorded if c == "securityhub.BatchImportFindings"]

    args = ("findings", "--push-securityhub", "--region", REGION, "--role-name", "AuditpackImport", "--format", "json")
    assert cli(interchange.env(), *args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["total"] == report["imported"] == len(interchange.asff) and report["rejected"] == []
    sizes: Counter[str] = Counter()
    for call, params in recorded:
        if call == "securityhub.BatchImportFindings":
            batch = params["Findings"]
            assert 1 <= len(batch) <= 100 and len({d["AwsAccountId"] for d in batch}) == 1
            sizes[batch[0]["AwsAccountId"]] += len(batch)
    assert sizes == accounts
    calls = [c for c, _ in recorded if c == "securityhub.BatchImportFindings"]
    assert len(calls) == report["calls"] == sum(-(-n // 100) for n in accounts.values())
    assert {c for c, _ in recorded} <= PUSH_CALLS  # every call the push made is declared
    roles = {p["RoleArn"] for c, p in recorded if c == "sts.AssumeRole"}
    assert roles == {f"arn:aws:iam::{a}:role/AuditpackImport" for a in others}

    expected = {d["Id"]: d for d in interchange.asff}
    for account in accounts:
        held = _held(account)
        assert sorted(f["Id"] for f in held) == sorted(i for i, d in expected.items() if d["AwsAccountId"] == account)
        for finding in held:
            assert finding["Compliance"] == expected[finding["Id"]]["Compliance"]
            assert finding["ProductArn"] == f"arn:aws:securityhub:{REGION}:{account}:product/{account}/default"

    # The next run's import updates the findings Security Hub holds instead of adding more.
    assert cli(interchange.env(), *args) == 0
    assert len(_held(moto_hub)) == accounts[moto_hub]


def _client() -> Any:
    with fake_aws_env():
        return boto3.client("securityhub", region_name=REGION)


def _docs(*ids: str) -> list[dict[str, Any]]:
    """Minimal ASFF findings (botocore validates them before the Stubber answers)."""
    product = "arn:aws:securityhub:us-east-1:111111111111:product/111111111111/default"
    at = "2026-11-20T03:00:00Z"
    return [
        {
            "SchemaVersion": "2018-10-08",
            "Id": i,
            "ProductArn": product,
            "GeneratorId": "auditpack/s3.default_encryption",
            "AwsAccountId": "111111111111",
            "CreatedAt": at,
            "UpdatedAt": at,
            "Title": "Buckets encrypt by default",
            "Description": i,
            "Resources": [{"Type": "AwsS3Bucket", "Id": f"arn:aws:s3:::{i}"}],
        }
        for i in ids
    ]


def test_throttled_batches_and_failed_findings_are_re_sent_with_a_bound() -> None:
    client, pauses = _client(), []
    a, b, c = _docs("a", "b", "c")
    with Stubber(client) as stub:
        stub.add_client_error("batch_import_findings", "TooManyRequestsException", "Rate exceeded", 429)
        failed = [{"Id": "b", "ErrorCode": "InternalException", "ErrorMessage": "try again"}]
        stub.add_response(
            "batch_import_findings",
            {"FailedCount": 1, "SuccessCount": 2, "FailedFindings": failed},
            {"Findings": [a, b, c]},
        )
        stub.add_response(
            "batch_import_findings", {"FailedCount": 0, "SuccessCount": 1, "FailedFindings": []}, {"Findings": [b]}
        )
        report = push_findings([a, b, c], lambda _: client, sleep=pauses.append)
        stub.assert_no_pending_responses()
    assert report.ok and (report.total, report.imported, report.calls, report.resent) == (3, 3, 3, 4)
    assert pauses == [0.5, 1.0]


def test_what_still_fails_is_reported_finding_by_finding() -> None:
    client = _client()
    a, b = _docs("a", "b")
    with Stubber(client) as stub:
        failed = [
            {"Id": "a", "ErrorCode": "InvalidInput", "ErrorMessage": "Resources: too many"},
            {"Id": "b", "ErrorCode": "InternalException", "ErrorMessage": "try again"},
        ]
        stub.add_response("batch_import_findings", {"FailedCount": 2, "SuccessCount": 0, "FailedFindings": failed})
        for _ in range(2):  # an invalid finding is not re-sent; the other is, up to max_rounds times
            stub.add_response(
                "batch_import_findings",
                {"FailedCount": 1, "SuccessCount": 0, "FailedFindings": failed[1:]},
                {"Findings": [b]},
            )
        report = push_findings([a, b], lambda _: client, max_rounds=2, sleep=lambda _: None)
        stub.assert_no_pending_responses()
    assert not report.ok and report.imported == 0 and report.calls == 3
    assert report.summary() == (
        "imported 0 of 2 findings into Security Hub in 3 BatchImportFindings calls (2 re-sent); 2 not imported:\n"
        "  a (account 111111111111): InvalidInput: Resources: too many\n"
        "  b (account 111111111111): InternalException: try again (still failing after 2 re-sends)"
    )


def test_a_refusal_no_retry_cures_stops_the_push_at_once() -> None:
    client = _client()
    with Stubber(client) as stub:
        stub.add_response("batch_import_findings", {"FailedCount": 0, "SuccessCount": 100, "FailedFindings": []})
        stub.add_client_error("batch_import_findings", "InvalidAccessException", "Account is not subscribed", 401)
        with pytest.raises(SecurityHubPushError) as raised:
            push_findings(_docs(*map(str, range(250))), lambda _: client, sleep=lambda _: None)
        stub.assert_no_pending_responses()  # the third batch was never sent
    assert raised.value.message == (
        "Security Hub refused BatchImportFindings for account 111111111111: InvalidAccessException: Account is not "
        "subscribed (100 of 200 findings given so far were imported)"
    )


def test_a_push_that_leaves_findings_out_exits_1_naming_them(
    interchange: Interchange, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command's side of a failed import (FailedFindings: what moto never answers, so a stubbed client)."""
    from auditpack.cli import findings_export

    only = interchange.findings[0]
    chosen = [f for f in interchange.findings if (f.check_id, f.account_id) == (only.check_id, only.account_id)]
    client = _client()
    with Stubber(client) as stub:
        refused = [{"Id": finding_uid(only), "ErrorCode": "InvalidInput", "ErrorMessage": "bad finding"}]
        answer = {"FailedCount": 1, "SuccessCount": len(chosen) - 1, "FailedFindings": refused}
        stub.add_response("batch_import_findings", answer)
        monkeypatch.setattr(findings_export, "_clients", lambda *_, **__: lambda _: client)
        args = ("--check", only.check_id, "--account", only.account_id)
        code = cli(interchange.env(), "findings", "--push-securityhub", "--region", REGION, *args)
        stub.assert_no_pending_responses()
    assert code == 1
    err = " ".join(capsys.readouterr().err.split())
    assert f"imported {len(chosen) - 1} of {len(chosen)} findings into Security Hub in 1 BatchImportFindings" in err
    assert f"{finding_uid(only)} (account {only.account_id}): InvalidInput: bad finding" in err


def test_the_push_policy_is_separate_from_the_read_only_collection_policy(capsys: pytest.CaptureFixture[str]) -> None:
    collection = json.dumps(iam_policy())
    assert "securityhub:BatchImportFindings" not in collection
    assert cli({}, "iam-policy", "--push-securityhub", "--partition", "aws-us-gov", "--role-name", "Importer") == 0
    policy = json.loads(capsys.readouterr().out)
    assert policy["Statement"] == [
        {
            "Sid": "AuditpackImportFindings",
            "Effect": "Allow",
            "Action": ["securityhub:BatchImportFindings"],
            "Resource": "arn:aws-us-gov:securityhub:*:*:product/*/default",
        },
        {
            "Sid": "AuditpackAssumePushRole",
            "Effect": "Allow",
            "Action": ["sts:AssumeRole"],
            "Resource": "arn:aws-us-gov:iam::*:role/Importer",
        },
    ]
    declared = {a for call in PUSH_CALLS if (a := iam_action(call))}
    assert declared == {a for s in policy["Statement"] for a in s["Action"]}
    assert cli({}, "iam-policy", "--push-securityhub") == 0
    assert [s["Sid"] for s in json.loads(capsys.readouterr().out)["Statement"]] == ["AuditpackImportFindings"]
