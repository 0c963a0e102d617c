"""Properties of the findings of the whole scenario estate (an Organization, two regions)."""

from collections import Counter

from evidence.checks.registry import check_ids
from evidence.checks.types import FindingStatus
from evidence.findings import load_findings
from tests.scenario import Collected

# SSM's instance information and patch states, Security Hub's enabled standards, AWS Artifact's agreements,
# AWS Backup restore testing, GuardDuty's publishing destinations and Macie's findings and automated discovery are
# not implemented by moto: against moto they are gaps, so those checks can only be `error` here (where they
# apply); their pass/fail logic is tested with botocore's Stubber.
MOTO_GAPS = {
    "ssm.instance_managed",
    "ssm.patch_compliant",
    "securityhub.standards_enabled",
    "artifact.hipaa_baa_accepted",
    "backup.restore_testing_plan",
    "guardduty.findings_exported",
    "macie.no_full_track_data_stored",
    "macie.no_card_verification_codes_stored",
}


def test_every_check_has_a_passing_and_a_failing_resource(collected: Collected) -> None:
    statuses = Counter((f.check_id, f.status) for f in load_findings(collected.store, collected.run.id))
    for check_id in sorted(check_ids() - MOTO_GAPS):
        assert statuses[(check_id, FindingStatus.PASS)] >= 1, f"{check_id} has no passing resource"
        assert statuses[(check_id, FindingStatus.FAIL)] >= 1, f"{check_id} has no failing resource"
    for check_id in MOTO_GAPS:
        assert statuses[(check_id, FindingStatus.ERROR)] >= 1
        assert statuses[(check_id, FindingStatus.PASS)] == 0, "a gap must never become a pass"


def test_one_finding_per_check_and_resource(collected: Collected) -> None:
    findings = load_findings(collected.store, collected.run.id)
    keys = Counter((f.check_id, f.account_id, f.region, f.resource_id) for f in findings)
    assert [key for key, count in keys.items() if count > 1] == []


def test_findings_cover_every_account_of_the_organization(collected: Collected) -> None:
    accounts = {f.account_id for f in load_findings(collected.store, collected.run.id)}
    assert accounts == set(collected.estate.accounts)


def test_every_verdict_rests_on_stored_evidence(collected: Collected) -> None:
    for finding in load_findings(collected.store, collected.run.id):
        if finding.status is FindingStatus.ERROR:
            assert finding.reason.startswith("evidence missing") or "cannot decide" in finding.reason
            continue
        assert finding.evidence, f"{finding.check_id} {finding.resource_id} rests on nothing"
        assert finding.observed_at is not None
        for sha256 in finding.evidence:
            collected.store.payload_bytes(sha256)  # raises if the payload is not stored


def test_the_run_is_partial_because_of_gaps_not_failed(collected: Collected) -> None:
    assert collected.run.status == "partial"
    gaps = collected.store.gaps(collected.run.id)
    assert {(g.service, g.operation) for g in gaps} >= {("ssm", "DescribeInstanceInformation")}
    assert all(g.error_code != "InternalError" for g in gaps), [g.message for g in gaps]


def test_run_stats_count_api_calls_and_time(collected: Collected) -> None:
    stats = collected.run.stats
    assert stats["api_calls"] == sum(op["calls"] for op in stats["operations"].values())
    assert stats["api_calls"] > 50
    assert stats["operations"]["iam.GetCredentialReport"]["calls"] == 3  # once per account
    assert stats["operations"]["ssm.DescribeInstanceInformation"]["errors"] == 6  # 3 accounts x 2 regions
    assert stats["duration_seconds"] > 0
    assert stats["evidence"] == collected.run.evidence_count
    scopes = {(s["account_id"], s["region"]) for s in stats["scopes"]}
    assert (collected.estate.member_b, "eu-west-1") in scopes
