"""lambda.not_publicly_invocable: policies collected from moto, and the statement rules one by one."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from evidence.checks.types import Finding, FindingStatus
from evidence.store import EvidenceStore
from tests.evidence.collectors.harness import REGION, findings_of, refuse, run_collectors
from tests.evidence.collectors.test_lambda_policies import make_functions
from tests.moto_server import fake_aws_env
from tests.scenario import Collected

PASS, FAIL, ERROR = FindingStatus.PASS, FindingStatus.FAIL, FindingStatus.ERROR
CHECK = "lambda.not_publicly_invocable"
lambda_checks = importlib.import_module("evidence.checks.lambda")  # `lambda` is a keyword


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def _by_name(findings: list[Finding]) -> dict[str, Finding]:
    return {f.resource_id.rsplit(":", 1)[-1]: f for f in findings}


def test_who_may_invoke(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    make_functions(aws, "internal", "open", "from-bucket", "url")
    lam = aws.client("lambda")
    invoke = {"Action": "lambda:InvokeFunction"}
    lam.add_permission(FunctionName="open", StatementId="anyone", Principal="*", **invoke)
    lam.add_permission(
        FunctionName="from-bucket",
        StatementId="s3",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::uploads",
        SourceAccount="123456789012",
        **invoke,
    )
    lam.add_permission(
        FunctionName="url",
        StatementId="url",
        Principal="*",
        Action="lambda:InvokeFunctionUrl",
        FunctionUrlAuthType="NONE",
    )
    found = _by_name(findings_of(sqlite_store, run_collectors(sqlite_store, aws, ["lambda"]), CHECK))
    assert found["internal"].status == PASS and "no resource-based policy" in found["internal"].reason
    assert (found["open"].status, found["open"].reason) == (
        FAIL,
        "policy statement(s) anyone let anyone invoke it, with no source condition",
    )
    assert found["from-bucket"].status == PASS
    assert found["url"].status == FAIL  # a function URL without authentication


def test_a_refused_policy_read_is_an_error(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    make_functions(aws, "api")
    refuse(aws, "lambda.GetPolicy")
    [finding] = findings_of(sqlite_store, run_collectors(sqlite_store, aws, ["lambda"]), CHECK)
    assert finding.status == ERROR and "lambda:GetPolicy failed (AccessDeniedException" in finding.reason


def _statement(**fields: Any) -> dict[str, Any]:
    return {"Sid": "s", "Effect": "Allow", "Action": "lambda:InvokeFunction", "Principal": "*", **fields}


@pytest.mark.parametrize(
    ("statement", "public"),
    [
        (_statement(), True),
        (_statement(Principal={"AWS": ["arn:aws:iam::111111111111:root", "*"]}), True),
        (_statement(Principal={"AWS": "arn:aws:iam::111111111111:root"}), False),
        (_statement(Principal={"Service": "events.amazonaws.com"}), False),
        (_statement(Action="lambda:*"), True),
        (_statement(Action=["lambda:GetFunction"]), False),
        (_statement(NotAction="lambda:GetFunction"), True),
        (_statement(Effect="Deny"), False),
        (_statement(Condition={"ArnLike": {"AWS:SourceArn": "arn:aws:execute-api:us-east-1:1:api/*"}}), False),
        (_statement(Condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}), False),
        (_statement(Condition={"StringLike": {"aws:SourceArn": "*"}}), True),  # a wildcard confines nothing
        (_statement(Condition={"StringNotEquals": {"aws:SourceAccount": "111111111111"}}), True),
        (_statement(Condition={"StringEqualsIfExists": {"aws:SourceAccount": "111111111111"}}), True),
        (_statement(Condition={"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}}), True),
    ],
)
def test_statement_rules(statement: dict[str, Any], public: bool) -> None:
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    assert lambda_checks.public_statements(policy) == (["s"] if public else [])


def test_not_principal_allow_is_public() -> None:
    statement = {"Effect": "Allow", "Action": "lambda:InvokeFunction", "NotPrincipal": {"AWS": "arn:aws:iam::1:root"}}
    assert lambda_checks.public_statements({"Statement": statement}) == ["#1"]


def test_in_the_scenario_estate(collected: Collected) -> None:
    assert collected.finding(CHECK, ":function:api").status == PASS
    public = collected.finding(CHECK, ":function:legacy-job")
    assert public.status == FAIL and public.owner == "api-team"
