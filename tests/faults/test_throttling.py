"""Fault: AWS throttles. A proxy in front of moto_server answers 30% of the calls with the protocol's throttling
error (seeded, so the same calls are throttled on every run). The collection must go through botocore's retries
to the same findings as an unthrottled collection of the same estate; a call whose retries ran out is a gap and
its findings errors, never a pass."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.api.estate import REGION, build_small_estate
from tests.faults.throttle import throttling_proxy
from tests.moto_server import MotoServer, fake_aws_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
THROTTLING = {"ThrottlingException", "Throttling", "RequestLimitExceeded", "SlowDown"}


def _collect(run_cli: Any, endpoint: str) -> tuple[dict[str, Any], dict[tuple[str, str], str]]:
    with fake_aws_env(AWS_ENDPOINT_URL=endpoint):
        collected = run_cli("collect", "--region", REGION, "--format", "json")
    assert collected.code == 0, collected
    shown = run_cli("findings", "--format", "json")
    assert shown.code == 0, shown
    findings = {(f["check_id"], f["resource_id"]): f["status"] for f in json.loads(shown.stdout)}
    return json.loads(collected.stdout), findings


def test_a_throttled_collection_ends_with_the_unthrottled_findings_or_gaps_never_a_pass(  # type: ignore[no-untyped-def]
    sqlite_only: None, cli_env, run_cli, moto_server: MotoServer
) -> None:
    moto_server.reset()
    with fake_aws_env(AWS_ENDPOINT_URL=moto_server.url):
        build_small_estate(boto3.Session(region_name=REGION))
    plain, expected = _collect(run_cli, moto_server.url)

    with throttling_proxy(moto_server.url, share=0.3, seed=17) as proxy:
        summary, findings = _collect(run_cli, proxy.url)

    assert proxy.throttled >= 10  # the fault happened (19 of 95 calls with this seed)
    assert summary["status"] in ("complete", "partial")
    assert set(findings) == set(expected)  # no resource lost or invented
    changed = {key: (expected[key], status) for key, status in findings.items() if status != expected[key]}
    # Where botocore's retries ran out, the call is a throttling gap and its findings are errors; nothing else moves.
    assert all(status == "error" for _, status in changed.values()), changed
    # Every gap of the plain collection is still a gap (moto's unimplemented calls: a throttled last retry may
    # change its error code), and any new gap is a throttling error that ran out of retries.
    gaps = {g["operation"]: g["error_code"] for g in summary["gap_details"]}
    plain_gaps = {g["operation"] for g in plain["gap_details"]}
    assert plain_gaps <= set(gaps)
    assert {code for op, code in gaps.items() if op not in plain_gaps} <= THROTTLING, gaps
    assert bool(changed) <= bool(set(gaps) - plain_gaps), (changed, gaps)
    assert "pass" not in {status for key, status in findings.items() if expected[key] != "pass"}
