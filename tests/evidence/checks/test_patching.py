"""Patching checks. SSM's instance information and patch states are not implemented by moto, so their
pass/fail logic is tested with botocore's Stubber (responses validated against the service model, shaped as in
the AWS API reference); against moto those calls end as gaps and `error` findings, never passes."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from evidence.aws.calls import CallStats
from evidence.aws.scope import CollectionScope
from evidence.aws.session import AccountSession, client_config
from evidence.checks.evaluate import evaluate_run
from evidence.checks.ssm import missing_security_patches
from evidence.checks.types import Finding, FindingStatus
from evidence.collectors.context import GLOBAL, CollectorContext, RunContext
from evidence.collectors.registry import SCOPE, collectors
from evidence.orchestrator import record_account, record_region
from evidence.owners import OwnerMap
from evidence.store import EvidenceStore
from tests.moto_server import fake_aws_env
from tests.scenario import Collected

PASS, FAIL, NA, ERROR = FindingStatus.PASS, FindingStatus.FAIL, FindingStatus.NOT_APPLICABLE, FindingStatus.ERROR
REGION = "us-east-1"
WHEN = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def test_lambda_runtimes(collected: Collected) -> None:
    assert collected.finding("lambda.runtime_supported", ":function:api").status == PASS
    legacy = collected.finding("lambda.runtime_supported", ":function:legacy-job")
    assert legacy.status == FAIL and legacy.reason == "runtime python3.8 was deprecated on 2024-10-14"
    assert legacy.owner == "api-team"


def test_rds_minor_version_upgrades(collected: Collected) -> None:
    assert collected.finding("rds.auto_minor_version_upgrade", ":db:orders-db").status == PASS
    assert collected.finding("rds.auto_minor_version_upgrade", ":db:legacy-db").status == FAIL


def test_against_moto_ssm_is_a_gap_and_every_instance_an_error(collected: Collected) -> None:
    ids = collected.estate.ids
    running = collected.finding("ssm.instance_managed", ids["running_instance"])
    assert running.status == ERROR
    assert "ssm:DescribeInstanceInformation failed (NotImplemented" in running.reason
    assert collected.finding("ssm.instance_managed", ids["stopped_instance"]).status == NA
    assert collected.finding("ssm.patch_compliant", ids["running_instance"]).status == ERROR


def _information(instance_id: str, ping: str) -> dict[str, Any]:
    return {
        "InstanceId": instance_id,
        "PingStatus": ping,
        "LastPingDateTime": WHEN,
        "AgentVersion": "3.3.40.0",
        "IsLatestVersion": True,
        "PlatformType": "Linux",
        "PlatformName": "Amazon Linux",
        "PlatformVersion": "2023",
        "ResourceType": "EC2Instance",
        "IPAddress": "10.0.0.12",
        "ComputerName": f"{instance_id}.ec2.internal",
    }


def _patch_state(instance_id: str, *, critical: int, security: int) -> dict[str, Any]:
    return {
        "InstanceId": instance_id,
        "PatchGroup": "web",
        "BaselineId": "pb-0c10e65780EXAMPLE",
        "SnapshotId": "6d03d6c5-f79d-41d0-8d0e-00a9aEXAMPLE",
        "InstalledCount": 120,
        "InstalledOtherCount": 4,
        "InstalledPendingRebootCount": 0,
        "InstalledRejectedCount": 0,
        "MissingCount": critical + security,
        "FailedCount": 0,
        "UnreportedNotApplicableCount": 0,
        "NotApplicableCount": 870,
        "OperationStartTime": WHEN,
        "OperationEndTime": WHEN,
        "Operation": "Scan",
        "RebootOption": "NoReboot",
        "CriticalNonCompliantCount": critical,
        "SecurityNonCompliantCount": security,
        "OtherNonCompliantCount": 0,
    }


def _collect_with_stubbed_ssm(store: EvidenceStore, stub: Any) -> list[Finding]:
    """Run the EC2 instance and SSM collectors for one account/region (EC2 from moto, SSM from `stub`)."""
    session = boto3.Session(region_name=REGION)
    account = session.client("sts").get_caller_identity()["Account"]
    ssm = session.client("ssm", region_name=REGION)
    run = store.start_run(trigger="cli", requested_by="tests", scope={})
    with store.recorder(run.id) as recorder, Stubber(ssm) as stubber:
        stub(stubber)
        context = RunContext(
            recorder=recorder, stats=CallStats(), owners=OwnerMap(), spawn=lambda fn, a, r: fn(), stop=threading.Event()
        )
        member = AccountSession(account, config=client_config(CollectionScope(), pool_size=2), boto_session=session)
        member.use_client("ssm", REGION, ssm)
        scope = CollectorContext(context, member, region=GLOBAL, api_region=REGION, collector=SCOPE)
        record_account(scope, member)
        record_region(scope, REGION, "opt-in-not-required")
        for name in ("ec2_instances", "ssm"):
            entry = collectors()[name]
            ctx = CollectorContext(
                context, member, region=REGION, api_region=REGION, collector=entry, account_regions=(REGION,)
            )
            ctx.guard(entry.fn, ctx)
        stubber.assert_no_pending_responses()
    store.finish_run(run.id)
    return evaluate_run(store, run.id)


@pytest.fixture
def instances() -> Any:
    with fake_aws_env(), mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        ids = [i["InstanceId"] for i in ec2.run_instances(ImageId="ami-12345678", MinCount=4, MaxCount=4)["Instances"]]
        yield dict(zip(("patched", "missing", "unmanaged", "lost"), ids, strict=True))


def _by(findings: list[Finding], check_id: str) -> dict[str, Finding]:
    return {f.resource_id.rsplit("/", 1)[-1]: f for f in findings if f.check_id == check_id}


def test_managed_and_patch_compliance_logic(store: EvidenceStore, instances: dict[str, str]) -> None:
    managed = [instances["patched"], instances["missing"], instances["lost"]]

    def stub(stubber: Stubber) -> None:
        information = [_information(instances["patched"], "Online"), _information(instances["missing"], "Online")]
        information.append(_information(instances["lost"], "ConnectionLost"))
        stubber.add_response("describe_instance_information", {"InstanceInformationList": information}, {})
        states = [
            _patch_state(instances["patched"], critical=0, security=0),
            _patch_state(instances["missing"], critical=1, security=2),
        ]
        stubber.add_response(
            "describe_instance_patch_states", {"InstancePatchStates": states}, {"InstanceIds": managed}
        )

    findings = _collect_with_stubbed_ssm(store, stub)
    managed_findings = _by(findings, "ssm.instance_managed")
    assert managed_findings[instances["patched"]].status == PASS
    assert managed_findings[instances["unmanaged"]].status == FAIL
    assert "not registered" in managed_findings[instances["unmanaged"]].reason
    assert "ConnectionLost" in managed_findings[instances["lost"]].reason
    patches = _by(findings, "ssm.patch_compliant")
    assert set(patches) == set(managed)  # one finding per managed instance
    assert patches[instances["patched"]].status == PASS
    assert patches[instances["missing"]].status == FAIL
    assert patches[instances["missing"]].reason == "1 missing critical patch(es); 2 missing security patch(es)"
    assert patches[instances["lost"]].status == FAIL and "never scanned" in patches[instances["lost"]].reason


def test_a_denied_patch_state_read_is_an_error_not_a_pass(store: EvidenceStore, instances: dict[str, str]) -> None:
    def stub(stubber: Stubber) -> None:
        information = [_information(instances["patched"], "Online")]
        stubber.add_response("describe_instance_information", {"InstanceInformationList": information}, {})
        stubber.add_client_error(
            "describe_instance_patch_states", service_error_code="AccessDeniedException", http_status_code=400
        )

    patches = _by(_collect_with_stubbed_ssm(store, stub), "ssm.patch_compliant")
    assert patches[instances["patched"]].status == ERROR
    assert "AccessDeniedException" in patches[instances["patched"]].reason


def test_older_patch_states_without_severity_counts_use_missing_and_failed() -> None:
    assert missing_security_patches({"MissingCount": 3, "FailedCount": 0}) == ["3 missing patch(es)"]
    assert (
        missing_security_patches({"CriticalNonCompliantCount": 0, "SecurityNonCompliantCount": 0, "MissingCount": 4})
        == []
    )
