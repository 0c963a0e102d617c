"""Monitoring checks on the scenario estate: S3 data events, CloudWatch Logs delivery, alarms on security
events, Security Hub, GuardDuty malware protection and runtime monitoring."""

from auditpack.estate.logs import cis_security_alarms
from evidence.checks.cloudtrail import s3_object_coverage
from evidence.checks.cloudwatch import alarmed_events, security_events
from evidence.checks.evaluate import evaluate_view
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import FindingStatus
from evidence.checks.view import EvidenceView
from tests.evidence.checks.test_missing_evidence import WHEN, gap, listing, record, scope
from tests.scenario import Collected

PASS, FAIL, ERROR = FindingStatus.PASS, FindingStatus.FAIL, FindingStatus.ERROR
CIS_PATTERNS = cis_security_alarms()  # what the demo and the scenario estate plant


def test_s3_data_events_per_account(collected: Collected) -> None:
    estate = collected.estate
    good = collected.finding("cloudtrail.s3_data_events", f"{estate.management}/cloudtrail")
    assert good.status == PASS and "org-trail" in good.reason and len(good.evidence) == 3
    single = collected.finding("cloudtrail.s3_data_events", f"{estate.member_a}/cloudtrail")
    assert single.status == FAIL  # local-trail is single-region and records no data events
    assert collected.finding("cloudtrail.s3_data_events", f"{estate.member_b}/cloudtrail").status == FAIL


def test_s3_object_coverage_of_selectors() -> None:
    every = {"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}
    assert s3_object_coverage({"EventSelectors": [{"ReadWriteType": "All", "DataResources": [every]}]}) == {
        "read",
        "write",
    }
    one_bucket = {"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::payments/"]}
    assert s3_object_coverage({"EventSelectors": [{"ReadWriteType": "All", "DataResources": [one_bucket]}]}) == set()
    data, objects = (
        {"Field": "eventCategory", "Equals": ["Data"]},
        {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
    )
    assert s3_object_coverage({"AdvancedEventSelectors": [{"FieldSelectors": [data, objects]}]}) == {"read", "write"}
    writes = {"Field": "readOnly", "Equals": ["false"]}
    assert s3_object_coverage({"AdvancedEventSelectors": [{"FieldSelectors": [data, objects, writes]}]}) == {"write"}
    narrowed = {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::payments/"]}
    assert s3_object_coverage({"AdvancedEventSelectors": [{"FieldSelectors": [data, objects, narrowed]}]}) == set()


def test_cloudwatch_logs_delivery_per_trail(collected: Collected) -> None:
    ids = collected.estate.ids
    good = collected.finding("cloudtrail.cloudwatch_logs_delivery", ids["good_trail"])
    assert good.status == PASS and "/trail/org-trail" in good.reason
    weak = collected.finding("cloudtrail.cloudwatch_logs_delivery", ids["weak_trail"])
    assert weak.status == FAIL and "does not deliver" in weak.reason


def test_security_event_alarms_per_account(collected: Collected) -> None:
    estate = collected.estate
    good = collected.finding("cloudwatch.security_event_alarms", f"{estate.management}/security-event-alarms")
    assert good.status == PASS and f"{len(security_events())} security events" in good.reason
    assert len(good.evidence) == 5  # the trail, its status and selectors, the metric filters, the alarms
    for member in (estate.member_a, estate.member_b):
        none = collected.finding("cloudwatch.security_event_alarms", f"{member}/security-event-alarms")
        assert none.status == FAIL and "no logging multi-region trail delivers" in none.reason


def test_every_cis_pattern_is_recognised_and_an_alarm_needs_an_action() -> None:
    filters = [
        {
            "logGroupName": "trail",
            "filterPattern": pattern,
            "metricTransformations": [{"metricNamespace": "Security", "metricName": name}],
        }
        for name, pattern in CIS_PATTERNS.items()
    ]
    alarms = [{"Namespace": "Security", "MetricName": name, "AlarmActions": ["arn:sns"]} for name in CIS_PATTERNS]
    assert alarmed_events("trail", filters, alarms) == {eid for eid, _, _ in security_events()}
    assert alarmed_events("another-group", filters, alarms) == set()
    silent = [{**alarm, "AlarmActions": []} for alarm in alarms]
    assert alarmed_events("trail", filters, silent) == set()
    disabled = [{**alarm, "ActionsEnabled": False} for alarm in alarms]
    assert alarmed_events("trail", filters, disabled) == set()


def _trail_records(group_arn: str) -> list:
    arn = "arn:aws:cloudtrail:us-east-1:111111111111:trail/t"
    trail = {"Name": "t", "IsMultiRegionTrail": True, "CloudWatchLogsLogGroupArn": group_arn}
    return [
        listing("cloudtrail.trail", [arn]),
        record("cloudtrail.trail", arn, trail),
        record("cloudtrail.trail_status", arn, {"IsLogging": True}),
        record("cloudtrail.event_selectors", arn, {"EventSelectors": []}),
    ]


def test_missing_alarms_are_named_and_missing_listings_are_errors() -> None:
    group = "arn:aws:logs:us-east-1:111111111111:log-group:trail:*"
    root = {
        "logGroupName": "trail",
        "filterPattern": CIS_PATTERNS["RootUsage"],
        "metricTransformations": [{"metricNamespace": "S", "metricName": "Root"}],
    }
    alarm = {"Namespace": "S", "MetricName": "Root", "AlarmActions": ["arn:sns"]}
    filters = record("logs.metric_filters", "f", {"metricFilters": [root]})
    alarms = record("cloudwatch.alarms", "a", {"MetricAlarms": [alarm]})
    view = EvidenceView([*scope(), *_trail_records(group), filters, alarms], [])
    [finding] = [
        f
        for f in evaluate_view(view, thresholds=Thresholds(), now=WHEN)
        if f.check_id == "cloudwatch.security_event_alarms"
    ]
    assert finding.status == FAIL and "for 14 of 15 security events" in finding.reason
    assert "use of the root user" not in finding.reason and "unauthorized API calls" in finding.reason
    # without the alarm listing of the log group's region the verdict cannot be given
    view = EvidenceView([*scope(), *_trail_records(group), filters], [gap("cloudwatch.alarms")])
    [finding] = [
        f
        for f in evaluate_view(view, thresholds=Thresholds(), now=WHEN)
        if f.check_id == "cloudwatch.security_event_alarms"
    ]
    assert finding.status == ERROR and "AccessDenied" in finding.reason


def test_security_hub_per_region(collected: Collected) -> None:
    estate = collected.estate
    assert collected.finding("securityhub.enabled", f"{estate.management}/us-east-1/securityhub").status == PASS
    off = collected.finding("securityhub.enabled", f"{estate.management}/eu-west-1/securityhub")
    assert off.status == FAIL and "not enabled" in off.reason
    # the "not subscribed" answer is stored as a fact, not a gap (moto lacks GetEnabledStandards: that one is)
    gaps = collected.store.gaps(collected.run.id)
    assert not [g for g in gaps if g.service == "securityhub" and g.operation != "GetEnabledStandards"]


def test_guardduty_features_per_region(collected: Collected) -> None:
    estate = collected.estate
    for check_id in ("guardduty.malware_protection_enabled", "guardduty.runtime_monitoring_enabled"):
        assert collected.finding(check_id, f"{estate.management}/us-east-1/guardduty").status == PASS
        off = collected.finding(check_id, f"{estate.member_b}/us-east-1/guardduty")
        assert off.status == FAIL and off.reason.endswith("is off")  # detector enabled, feature off
        disabled = collected.finding(check_id, f"{estate.management}/eu-west-1/guardduty")
        assert disabled.status == FAIL and "not enabled" in disabled.reason


def test_guardduty_managed_by_the_delegated_administrator(collected: Collected) -> None:
    estate = collected.estate
    check_id = "guardduty.managed_by_organization"
    member = collected.finding(check_id, f"{estate.member_b}/us-east-1/guardduty")
    assert member.status == PASS and member.reason.endswith(estate.management)
    # without an administrator, whether the account is one itself rests on ListMembers, which moto lacks
    for region in ("us-east-1", "eu-west-1"):
        undecided = collected.finding(check_id, f"{estate.management}/{region}/guardduty")
        assert undecided.status == ERROR and "ListMembers" in undecided.reason
    none = collected.finding(check_id, f"{estate.member_a}/us-east-1/guardduty")
    assert none.status == FAIL and none.reason == "GuardDuty has no detector in this region"


def test_guardduty_export_is_a_gap_against_moto(collected: Collected) -> None:
    estate = collected.estate
    exported = collected.finding("guardduty.findings_exported", f"{estate.management}/us-east-1/guardduty")
    assert exported.status == ERROR and "ListPublishingDestinations" in exported.reason


def test_macie_per_region(collected: Collected) -> None:
    management = collected.estate.management
    assert collected.finding("macie.enabled", f"{management}/us-east-1/macie").status == PASS
    off = collected.finding("macie.enabled", f"{management}/eu-west-1/macie")
    assert off.status == FAIL and "not enabled" in off.reason
