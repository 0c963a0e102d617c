"""Resilience and hardening checks on the scenario estate."""

import importlib

from evidence.checks.types import FindingStatus
from tests.scenario import Collected

# `lambda` is a keyword: the lambda.* checks' module is imported by name.
secret_variables = importlib.import_module("evidence.checks.lambda").secret_variables

PASS, FAIL, NA = FindingStatus.PASS, FindingStatus.FAIL, FindingStatus.NOT_APPLICABLE


def test_rds_multi_az_deletion_protection_and_storage_autoscaling(collected: Collected) -> None:
    for check_id in ("rds.multi_az", "rds.deletion_protection", "rds.storage_autoscaling"):
        assert collected.finding(check_id, ":db:orders-db").status == PASS, check_id
        assert collected.finding(check_id, ":db:legacy-db").status == FAIL, check_id
        assert collected.finding(check_id, ":db:member-a-db").status == FAIL, check_id
    assert "up to 100 GiB" in collected.finding("rds.storage_autoscaling", ":db:orders-db").reason


def test_dynamodb_point_in_time_recovery(collected: Collected) -> None:
    on = collected.finding("dynamodb.pitr_enabled", ":table/orders")
    assert on.status == PASS and "35 days" in on.reason
    off = collected.finding("dynamodb.pitr_enabled", ":table/sessions")
    assert off.status == FAIL and "disabled" in off.reason


def test_s3_versioning(collected: Collected) -> None:
    assert collected.finding("s3.versioning_enabled", ":::secure-bucket").status == PASS
    never = collected.finding("s3.versioning_enabled", ":::trail-logs")
    assert never.status == FAIL and never.reason == "versioning was never enabled"
    assert collected.finding("s3.versioning_enabled", ":::member-a-data").status == FAIL


def test_imdsv2(collected: Collected) -> None:
    ids = collected.estate.ids
    assert collected.finding("ec2.imdsv2_required", ids["stopped_instance"]).status == PASS
    v1 = collected.finding("ec2.imdsv2_required", ids["running_instance"])
    assert v1.status == FAIL and "IMDSv1" in v1.reason


def test_source_dest_check(collected: Collected) -> None:
    ids = collected.estate.ids
    assert collected.finding("ec2.source_dest_check_enabled", ids["stopped_instance"]).status == PASS
    assert collected.finding("ec2.source_dest_check_enabled", ids["running_instance"]).status == FAIL


def test_kms_key_material_origin(collected: Collected) -> None:
    ids = collected.estate.ids
    assert collected.finding("kms.key_material_in_kms", ids["rotated_key"]).status == PASS
    imported = collected.finding("kms.key_material_in_kms", ids["imported_key"])
    assert imported.status == FAIL and "imported key material" in imported.reason
    # the imported key cannot rotate automatically: rotation is not applicable to it, not a pass
    assert collected.finding("kms.key_rotation_enabled", ids["imported_key"]).status == NA


def test_data_classification_tags(collected: Collected) -> None:
    bucket = collected.finding("tagging.data_classification", ":::secure-bucket")
    assert bucket.status == PASS and bucket.reason == "classified confidential (DataClassification)"
    assert collected.finding("tagging.data_classification", ":db:orders-db").status == PASS
    table = collected.finding("tagging.data_classification", ":table/orders")
    assert table.status == PASS and "ephi" in table.reason
    for resource in (":::plain-bucket", ":db:legacy-db", ":table/sessions"):
        assert collected.finding("tagging.data_classification", resource).status == FAIL, resource


def test_classification_tag_keys_are_configurable(collected: Collected) -> None:
    from evidence.checks.evaluate import evaluate_run
    from evidence.checks.thresholds import Thresholds

    findings = evaluate_run(
        collected.store, collected.run.id, thresholds=Thresholds(classification_tag_keys=("Owner",))
    )
    bucket = next(
        f
        for f in findings
        if f.check_id == "tagging.data_classification" and f.resource_id.endswith(":::secure-bucket")
    )
    assert bucket.status == PASS and bucket.reason == "classified storage-team (Owner)"


def test_lambda_secrets_in_environment(collected: Collected) -> None:
    assert collected.finding("lambda.no_secrets_in_environment", ":function:api").status == PASS
    legacy = collected.finding("lambda.no_secrets_in_environment", ":function:legacy-job")
    assert legacy.status == FAIL and legacy.reason.endswith("API_TOKEN, DB_PASSWORD")
    assert secret_variables({"KMS_KEY_ID": "x", "CLIENT_SECRET": "y", "DB_PASSWORD_PARAM": "z"}) == ["CLIENT_SECRET"]
