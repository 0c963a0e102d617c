"""End to end: `auditpack collect --org` as a separate process against one moto_server (AWS_ENDPOINT_URL),
then `auditpack findings`."""

from __future__ import annotations

import json
import subprocess
import sys

import boto3
import pytest

from tests.evidence.estate import REGIONS, build_estate
from tests.moto_server import MotoServer, fake_aws_env


def _auditpack(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditpack", *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.mark.e2e
def test_collect_an_organization_through_moto_server(moto_server: MotoServer, cli_env, sqlite_only) -> None:  # type: ignore[no-untyped-def]
    moto_server.reset()
    with fake_aws_env(AWS_ENDPOINT_URL=moto_server.url):
        estate = build_estate(boto3.Session(region_name="us-east-1"), in_process=False)
    env = {**moto_server.env(), **cli_env, "AUDITPACK_AWS_MAX_ATTEMPTS": "2", "COLUMNS": "200"}
    regions = [arg for region in REGIONS for arg in ("--region", region)]

    collected = _auditpack(env, "collect", "--org", *regions, "--format", "json")
    assert collected.returncode == 0, collected.stderr
    summary = json.loads(collected.stdout)
    assert summary["status"] == "partial"
    assert {s["account_id"] for s in summary["scopes"]} == set(estate.accounts)
    # moto_server answers unimplemented SSM operations with an HTML 500 page: gaps, never passes
    ssm = {
        (g["account_id"], g["region"], g["error_code"])
        for g in summary["gap_details"]
        if g["operation"].startswith("ssm:")
    }
    assert ssm == {(account, region, "HTTP500") for account in estate.accounts for region in REGIONS}

    shown = _auditpack(env, "findings", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    findings = json.loads(shown.stdout)
    by = {(f["check_id"], f["resource_id"]): f for f in findings}
    # s3control through a local endpoint (the account-id host prefix dropped): member A's account-level block
    member_bucket = by[("s3.public_access_blocked", "arn:aws:s3:::member-a-data")]
    assert member_bucket["status"] == "pass" and "for the account" in member_bucket["reason"]
    assert by[("s3.default_encryption", "arn:aws:s3:::plain-bucket")]["status"] == "fail"
    assert by[("cloudtrail.multi_region_trail", f"{estate.management}/cloudtrail")]["status"] == "pass"
    assert {f["status"] for f in findings if f["check_id"] == "ssm.instance_managed"} <= {"error", "not_applicable"}
    assert {f["account_id"] for f in findings} == set(estate.accounts)
    assert all(
        {"check_id", "status", "account_id", "region", "resource_id", "observed_at", "reason", "evidence"} <= set(f)
        for f in findings
    )
