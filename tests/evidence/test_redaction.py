"""Secrets never reach evidence: unit rules, and a canary planted across the scenario estate that must be absent
from every payload and from the raw bytes of every table."""

import sqlite3
import zlib

from evidence.redaction import REDACTED, is_secret_name, redact
from tests.evidence.estate import CANARY
from tests.scenario import Collected


def test_lambda_environment_values_are_replaced_and_names_kept() -> None:
    function = {"FunctionName": "f", "Environment": {"Variables": {"DB_HOST": "db.internal", "STAGE": "prod"}}}
    assert redact(function)["Environment"]["Variables"] == {"DB_HOST": REDACTED, "STAGE": REDACTED}
    assert redact(function)["FunctionName"] == "f"
    assert function["Environment"]["Variables"]["STAGE"] == "prod"  # the input is not modified


def test_fields_named_like_secrets_are_replaced() -> None:
    payload = {
        "MasterUserPassword": "hunter2",
        "client_secret": "s",
        "SessionToken": "t",
        "private_key": "-----BEGIN",
        "ApiKey": "k",
        "nested": [{"Credentials": {"AccessKeyId": "AKIA", "SecretAccessKey": "x"}}],
    }
    redacted = redact(payload)
    assert redacted["MasterUserPassword"] == redacted["client_secret"] == redacted["SessionToken"] == REDACTED
    assert redacted["private_key"] == redacted["ApiKey"] == REDACTED
    assert redacted["nested"][0]["Credentials"] == {"AccessKeyId": REDACTED, "SecretAccessKey": REDACTED}


def test_name_value_pairs_with_secret_names_lose_their_value() -> None:
    tags = [
        {"Key": "db_password", "Value": "p"},
        {"Key": "Owner", "Value": "team-a"},
        {"TagKey": "token", "TagValue": "t"},
    ]
    assert redact({"Tags": tags})["Tags"] == [
        {"Key": "db_password", "Value": REDACTED},
        {"Key": "Owner", "Value": "team-a"},
        {"TagKey": "token", "TagValue": REDACTED},
    ]
    ecs = {"environment": [{"name": "MODE", "value": "fast"}]}
    assert redact(ecs) == {"environment": [{"name": "MODE", "value": REDACTED}]}


def test_facts_checks_need_are_kept() -> None:
    row = {
        "password_enabled": "true",
        "password_last_used": "2026-01-01T00:00:00+00:00",
        "access_key_1_last_rotated": "2026-01-01T00:00:00+00:00",
        "MinimumPasswordLength": 14,
        "AllowUsersToChangePassword": True,
        "HttpTokens": "required",
        "KeyName": "deploy",
    }
    assert redact(row) == row
    assert not is_secret_name("PasswordReusePrevention") and is_secret_name("DB_PASSWORD")


def _all_text(collected: Collected) -> tuple[bytes, list[bytes]]:
    """The database file as bytes, and every blob decompressed (payloads are stored zlib-compressed)."""
    collected.store.engine.dispose()
    with sqlite3.connect(collected.path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        blobs = [zlib.decompress(data) for (data,) in connection.execute("SELECT data FROM blobs")]
        dump = "\n".join(connection.iterdump()).encode()
    return collected.path.read_bytes() + dump, blobs


def test_the_canary_is_absent_from_the_database_and_every_payload(collected: Collected) -> None:
    raw, blobs = _all_text(collected)
    assert blobs, "no payloads were stored"
    canary = CANARY.encode()
    assert canary not in raw
    assert [blob[:200] for blob in blobs if canary in blob] == []
    for record in collected.store.iter_evidence(collected.run.id):
        assert CANARY not in str(record.payload)


def test_redacted_fields_keep_their_names_in_evidence(collected: Collected) -> None:
    functions = {
        r.resource_id.rsplit(":", 1)[-1]: r.payload
        for r in collected.store.iter_evidence(collected.run.id, kinds=["lambda.function"])
    }
    assert functions["api"]["Environment"]["Variables"] == dict.fromkeys(
        ("DB_PASSWORD", "API_TOKEN", "STAGE"), REDACTED
    )
    instance = next(iter(collected.store.iter_evidence(collected.run.id, kinds=["ec2.instance"])))
    assert {"Key": "db_password", "Value": REDACTED} in instance.payload["Tags"]
