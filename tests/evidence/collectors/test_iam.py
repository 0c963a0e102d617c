"""The Secrets Manager collector, against moto: every secret as ListSecrets describes it (rotation switch and
schedule), never its value; a refused listing is a gap."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from moto.core import enable_iam_authentication

from evidence.collectors.context import LISTING
from evidence.store import EvidenceStore
from tests.evidence.collectors.harness import REGION, collect, denied
from tests.moto_server import fake_aws_env

CANARY = "canary-secret-value-4d1e"


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def _secrets(session: boto3.Session) -> dict[str, str]:
    sm = session.client("secretsmanager")
    rotated = sm.create_secret(Name="db/orders", SecretString=CANARY, Tags=[{"Key": "api_token", "Value": CANARY}])
    # AWS needs a rotation function here (managed secrets aside); moto records the schedule without one and
    # would run the function in Docker if named.
    sm.rotate_secret(SecretId=rotated["ARN"], RotationRules={"AutomaticallyAfterDays": 30})
    static = sm.create_secret(Name="partner/api-key", SecretString=CANARY)
    return {"rotated": rotated["ARN"], "static": static["ARN"]}


def test_secrets_are_recorded_without_their_values(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    arns = _secrets(aws)
    outcome = collect(sqlite_store, aws, ["secretsmanager"])
    secrets = outcome.evidence("secretsmanager.secret")
    assert set(secrets) == set(arns.values())
    rotated = secrets[arns["rotated"]].payload
    assert rotated["RotationEnabled"] is True and rotated["RotationRules"]["AutomaticallyAfterDays"] == 30
    assert not secrets[arns["static"]].payload.get("RotationEnabled")
    for record in secrets.values():
        assert CANARY not in sqlite_store.payload_bytes(record.sha256).decode()
    [listing] = outcome.evidence(LISTING).values()
    assert listing.payload["count"] == 2 and listing.payload["operation"] == "secretsmanager.ListSecrets"


def test_a_refused_secret_listing_is_a_gap(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    _secrets(aws)
    auditor = denied(aws, "secretsmanager:ListSecrets")
    with enable_iam_authentication():
        outcome = collect(sqlite_store, auditor, ["secretsmanager"])
    assert [(g.operation, g.kind, g.error_code) for g in outcome.gaps()] == [
        ("ListSecrets", "secretsmanager.secret", "AccessDenied")
    ]
    assert outcome.evidence("secretsmanager.secret") == {} and outcome.evidence(LISTING) == {}
