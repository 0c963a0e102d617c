"""securityhub.threat_findings_triaged: high and critical threat findings (GuardDuty's, through Security Hub) that
nobody triaged within the limit fail; triaged, archived and recent ones pass; low-severity and configuration
findings are not judged; where Security Hub does not run, or its findings cannot be read, nothing passes.

moto keeps imported findings and answers GetFindings (ignoring its filters, so the check judges what it is given
rather than trusting the query); the scenario estate imports what GuardDuty would have sent."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from auditpack.estate.detection import ThreatFinding, plant_security_hub, plant_threat_findings
from auditpack.estate.target import Target
from core.clock import utcnow
from evidence.checks.evaluate import evaluate_run
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import FindingStatus
from evidence.store import EvidenceStore
from tests.evidence.collectors.harness import REGION, collect, refuse
from tests.moto_server import fake_aws_env
from tests.scenario import Collected

PASS, FAIL, NA, ERROR = FindingStatus.PASS, FindingStatus.FAIL, FindingStatus.NOT_APPLICABLE, FindingStatus.ERROR
CHECK = "securityhub.threat_findings_triaged"
BRUTE_FORCE = "TTPs/Initial Access/UnauthorizedAccess:EC2-SSHBruteForce"


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def test_scenario_threat_findings(collected: Collected) -> None:
    ids, management = collected.estate.ids, collected.estate.management
    stale = collected.finding(CHECK, ids["stale_threat"])
    assert stale.status == FAIL
    assert stale.reason == (
        f"'SSH brute force attacks against the web instance' (HIGH) on AwsEc2Instance {ids['running_instance']} "
        "has waited 10 days untriaged (workflow NEW; limit 7)"
    )
    fresh = collected.finding(CHECK, ids["fresh_threat"])
    assert fresh.status == PASS and fresh.reason.endswith("is 1 day old, within the 7-day triage limit")
    resolved = collected.finding(CHECK, ids["resolved_threat"])
    assert resolved.status == PASS and resolved.reason.endswith("was triaged (workflow RESOLVED)")
    assert collected.finding(CHECK, ids["low_threat"]).status == NA
    config = collected.finding(CHECK, ids["config_threat"])
    assert config.status == NA and config.reason.startswith("not a threat detection (Software and Configuration")
    # where Security Hub is off (management's eu-west-1, the members), no triage is recorded: never a pass
    off = collected.finding(CHECK, f"{management}/eu-west-1/securityhub")
    assert off.status == ERROR and off.reason.startswith("cannot decide: Security Hub is not enabled here")


def test_the_limit_is_a_setting_and_a_region_without_threats_passes(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    target = Target.of(aws, REGION)
    plant_security_hub(target)
    found = collect(sqlite_store, aws, ["securityhub"])
    [empty] = found.of(CHECK).values()
    assert (empty.status, empty.reason) == (
        PASS,
        "Security Hub holds no active high or critical threat finding awaiting triage",
    )
    [finding_id] = plant_threat_findings(
        target,
        [
            ThreatFinding(
                type=BRUTE_FORCE,
                title="SSH brute force",
                resource="arn:aws:ec2:::instance/i-1",
                days_old=10,
                workflow="NEW",
            )
        ],
        now=utcnow(),
    )
    outcome = collect(sqlite_store, aws, ["securityhub"])
    [stale] = outcome.of(CHECK).values()
    assert stale.resource_id == finding_id and stale.status == FAIL
    relaxed = evaluate_run(sqlite_store, outcome.run_id, thresholds=Thresholds(threat_finding_max_untriaged_days=14))
    assert [f.status for f in relaxed if f.check_id == CHECK] == [PASS]


def test_a_refused_findings_read_is_an_error_never_a_pass(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    plant_security_hub(Target.of(aws, REGION))
    refuse(aws, "securityhub.GetFindings")
    outcome = collect(sqlite_store, aws, ["securityhub"])
    [finding] = outcome.of(CHECK).values()
    assert finding.status == ERROR and "securityhub:GetFindings failed (AccessDeniedException" in finding.reason
