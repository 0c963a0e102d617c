"""Each Lambda function's resource-based policy: stored parsed, "no policy" stored as a fact, a refused read a gap."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from evidence.store import EvidenceStore
from tests.evidence.collectors.harness import REGION, evidence_of, refuse, run_collectors
from tests.moto_server import fake_aws_env


def handler_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return event\n")
    return buffer.getvalue()


def make_functions(session: boto3.Session, *names: str) -> None:
    role = session.client("iam").create_role(RoleName="exec", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    for name in names:
        session.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="handler.handle",
            Code={"ZipFile": handler_zip()},
        )


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def test_policies_are_stored_parsed_and_no_policy_is_a_fact(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    make_functions(aws, "public", "private")
    aws.client("lambda").add_permission(
        FunctionName="public", StatementId="anyone", Action="lambda:InvokeFunction", Principal="*"
    )
    run = run_collectors(sqlite_store, aws, ["lambda"])
    policies = {
        r.resource_id.rsplit(":", 1)[-1]: r.payload for r in evidence_of(sqlite_store, run, "lambda.function_policy")
    }
    [statement] = policies["public"]["Policy"]["Statement"]
    assert (statement["Sid"], statement["Principal"]) == ("anyone", "*")
    assert policies["private"]["NotFound"]["Code"] == "ResourceNotFoundException"
    assert sqlite_store.gaps(run.id) == []


def test_a_refused_policy_read_is_a_gap_about_the_function(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    make_functions(aws, "api")
    refuse(aws, "lambda.GetPolicy")
    run = run_collectors(sqlite_store, aws, ["lambda"])
    assert evidence_of(sqlite_store, run, "lambda.function_policy") == []
    [gap] = sqlite_store.gaps(run.id)
    assert (gap.operation, gap.kind) == ("GetPolicy", "lambda.function_policy")
    assert gap.resource_id is not None and gap.resource_id.endswith(":function:api")
