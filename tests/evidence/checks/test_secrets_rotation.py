"""secretsmanager.rotation_enabled, collected from moto and evaluated: a secret with automatic rotation passes,
one without fails, a refused listing is an `error` for the region, and a region without secrets is
not_applicable on its listing."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from moto.core import enable_iam_authentication

from evidence.checks.types import FindingStatus
from evidence.store import EvidenceStore
from tests.evidence.collectors.harness import REGION, collect, denied
from tests.moto_server import fake_aws_env
from tests.scenario import Collected

PASS, FAIL, NA, ERROR = FindingStatus.PASS, FindingStatus.FAIL, FindingStatus.NOT_APPLICABLE, FindingStatus.ERROR
CHECK = "secretsmanager.rotation_enabled"


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def _secrets(session: boto3.Session) -> None:
    sm = session.client("secretsmanager")
    rotated = sm.create_secret(Name="db/orders", SecretString="value-never-read")["ARN"]
    # AWS needs a rotation function (managed secrets aside); moto records the schedule without one
    sm.rotate_secret(SecretId=rotated, RotationRules={"AutomaticallyAfterDays": 30})
    sm.create_secret(Name="partner-api-key", SecretString="value-never-read")


def test_rotation_on_passes_and_off_fails(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    _secrets(aws)
    findings = {
        f.resource_id.split(":")[-1].rsplit("-", 1)[0]: f
        for f in collect(sqlite_store, aws, ["secretsmanager"]).findings
        if f.check_id == CHECK
    }
    assert findings["db/orders"].status == PASS
    assert findings["db/orders"].reason.startswith("rotates every 30 days, last rotated ")
    assert findings["partner-api-key"].status == FAIL
    assert findings["partner-api-key"].reason == "automatic rotation is off"


def test_a_refused_listing_is_an_error_and_no_secrets_not_applicable(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    [empty] = collect(sqlite_store, aws, ["secretsmanager"]).of(CHECK).values()
    assert empty.status == NA and empty.reason == "no secrets here"
    _secrets(aws)
    auditor = denied(aws, "secretsmanager:ListSecrets")
    with enable_iam_authentication():
        [refused] = collect(sqlite_store, auditor, ["secretsmanager"]).of(CHECK).values()
    assert refused.status == ERROR and "secretsmanager:ListSecrets failed (AccessDenied" in refused.reason


def test_secrets_in_the_scenario_estate(collected: Collected) -> None:
    ids = collected.estate.ids
    assert collected.finding(CHECK, ids["rotating_secret"]).status == PASS
    assert collected.finding(CHECK, ids["static_secret"]).status == FAIL
