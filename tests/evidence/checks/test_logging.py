"""Logging checks on the scenario estate."""

from evidence.checks.cloudtrail import records_all_management_events
from evidence.checks.types import FindingStatus
from tests.scenario import Collected

PASS, FAIL = FindingStatus.PASS, FindingStatus.FAIL


def test_multi_region_trail_per_account(collected: Collected) -> None:
    estate = collected.estate
    good = collected.finding("cloudtrail.multi_region_trail", f"{estate.management}/cloudtrail")
    assert good.status == PASS and good.region == "global" and "org-trail" in good.reason
    assert len(good.evidence) == 3  # the trail, its status, its event selectors
    single = collected.finding("cloudtrail.multi_region_trail", f"{estate.member_a}/cloudtrail")
    assert single.status == FAIL and "local-trail: single-region" in single.reason
    none = collected.finding("cloudtrail.multi_region_trail", f"{estate.member_b}/cloudtrail")
    assert none.status == FAIL and "no trails" in none.reason
    assert len(none.evidence) == 2  # the empty trail listings of both regions prove the absence


def test_trail_validation_and_encryption(collected: Collected) -> None:
    ids = collected.estate.ids
    assert collected.finding("cloudtrail.log_file_validation", ids["good_trail"]).status == PASS
    assert collected.finding("cloudtrail.log_file_validation", ids["weak_trail"]).status == FAIL
    assert collected.finding("cloudtrail.kms_encrypted", ids["good_trail"]).status == PASS
    weak = collected.finding("cloudtrail.kms_encrypted", ids["weak_trail"])
    assert weak.status == FAIL and weak.region == "eu-west-1"
    # a multi-region trail is seen from every region but judged once
    assert len([f for f in collected.findings("cloudtrail.kms_encrypted") if f.resource_id == ids["good_trail"]]) == 1


def test_config_recorder_per_region(collected: Collected) -> None:
    management = collected.estate.management
    assert collected.finding("config.recorder_enabled", f"{management}/us-east-1/config-recorders").status == PASS
    west = collected.finding("config.recorder_enabled", f"{management}/eu-west-1/config-recorders")
    assert west.status == FAIL and "no configuration recorder" in west.reason


def test_vpc_flow_logs(collected: Collected) -> None:
    assert collected.finding("ec2.vpc_flow_logs_enabled", collected.estate.ids["logged_vpc"]).status == PASS
    defaults = [f for f in collected.findings("ec2.vpc_flow_logs_enabled") if f.status == FAIL]
    assert len(defaults) == 6  # every account's default VPC in both regions


def test_log_group_retention(collected: Collected) -> None:
    assert collected.finding("logs.retention_at_least_one_year", "log-group:/app/audit").status == PASS
    assert (
        collected.finding("logs.retention_at_least_one_year", "log-group:/app/forever").reason == "events never expire"
    )
    short = collected.finding("logs.retention_at_least_one_year", "log-group:/app/debug")
    assert short.status == FAIL and "30 days" in short.reason
    assert collected.finding("logs.retention_at_least_one_year", "log-group:/app/audit").owner == "audit-team"


def test_guardduty_per_region(collected: Collected) -> None:
    estate = collected.estate
    assert collected.finding("guardduty.enabled", f"{estate.management}/us-east-1/guardduty").status == PASS
    disabled = collected.finding("guardduty.enabled", f"{estate.management}/eu-west-1/guardduty")
    assert disabled.status == FAIL and "disabled" in disabled.reason
    none = collected.finding("guardduty.enabled", f"{estate.member_a}/us-east-1/guardduty")
    assert none.status == FAIL and "no detector" in none.reason


def test_management_event_selectors() -> None:
    assert records_all_management_events(
        {"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True}]}
    )
    assert not records_all_management_events(
        {"EventSelectors": [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]}
    )
    assert not records_all_management_events({"EventSelectors": [], "AdvancedEventSelectors": []})
    management = {"Field": "eventCategory", "Equals": ["Management"]}
    assert records_all_management_events({"AdvancedEventSelectors": [{"FieldSelectors": [management]}]})
    write_only = [management, {"Field": "readOnly", "Equals": ["false"]}]
    assert not records_all_management_events({"AdvancedEventSelectors": [{"FieldSelectors": write_only}]})
