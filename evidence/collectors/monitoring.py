"""Monitoring: CloudWatch Logs metric filters and CloudWatch alarms (how security events in the trail's log
group reach someone), Security Hub (the standards it runs, and the threat findings still waiting for triage) and
Macie, per region."""

from __future__ import annotations

from typing import Any

from evidence.collectors.context import Absent, CollectorContext, setting_id
from evidence.collectors.registry import Scope, collector

THREAT_FINDING = "securityhub.threat_finding"
# The ASFF type namespaces of detected threats (suspected attacks, their effects, anomalies), as opposed to
# "Software and Configuration Checks" (vulnerabilities, control findings) and "Sensitive Data Identifications".
THREAT_NAMESPACES = ("TTPs", "Effects", "Unusual Behaviors")
# What an auditor needs of a finding (what, how severe, where, since when, its triage); descriptions, remediation
# text, network and process details are left out.
_THREAT_FIELDS = (
    "Id",
    "ProductArn",
    "ProductName",
    "AwsAccountId",
    "Region",
    "Types",
    "Title",
    "Severity",
    "Workflow",
    "RecordState",
    "FirstObservedAt",
    "LastObservedAt",
    "CreatedAt",
    "UpdatedAt",
)


def kept_threat_finding(finding: dict[str, Any]) -> dict[str, Any]:
    """The fields of a Security Hub finding that are stored."""
    kept = {key: finding[key] for key in _THREAT_FIELDS if key in finding}
    kept["Resources"] = [{k: r[k] for k in ("Type", "Id", "Region") if k in r} for r in finding.get("Resources") or []]
    return kept


def _threat_filters(account_id: str, region: str) -> dict[str, list[dict[str, str]]]:
    """High and critical threat detections of this account and region, active and still NEW (nobody triaged them):
    what the triage check judges. A delegated administrator and an aggregation region also hold other accounts'
    and regions' findings, which their own collection records."""

    def equals(*values: str) -> list[dict[str, str]]:
        return [{"Value": v, "Comparison": "EQUALS"} for v in values]

    return {
        "AwsAccountId": equals(account_id),
        "Region": equals(region),
        "RecordState": equals("ACTIVE"),
        "WorkflowStatus": equals("NEW"),
        "SeverityLabel": equals("HIGH", "CRITICAL"),
        "Type": [{"Value": namespace, "Comparison": "PREFIX"} for namespace in THREAT_NAMESPACES],
    }


@collector(
    "security_alarms",
    produces=("cloudwatch.alarms", "logs.metric_filters"),
    domain="logging",
    scope=Scope.REGIONAL,
    calls=("logs.DescribeMetricFilters", "cloudwatch.DescribeAlarms"),
)
def collect_security_alarms(ctx: CollectorContext) -> None:
    # One item per region each: a filter or alarm missing from these complete lists is proven absent.
    filters = ctx.paginate("logs.DescribeMetricFilters", kind="logs.metric_filters", result_key="metricFilters")
    if filters is not None:
        ctx.record(
            kind="logs.metric_filters",
            resource_type="metric-filters",
            resource_id=setting_id(ctx.account_id, ctx.region, "log-metric-filters"),
            payload={"metricFilters": filters},
            tags={},
        )
    alarms = ctx.paginate(
        "cloudwatch.DescribeAlarms", kind="cloudwatch.alarms", result_key="MetricAlarms", AlarmTypes=["MetricAlarm"]
    )
    if alarms is not None:
        ctx.record(
            kind="cloudwatch.alarms",
            resource_type="alarms",
            resource_id=setting_id(ctx.account_id, ctx.region, "cloudwatch-alarms"),
            payload={"MetricAlarms": alarms},
            tags={},
        )


@collector(
    "securityhub",
    produces=("securityhub.hub", "securityhub.enabled_standards", THREAT_FINDING),
    domain="logging",
    scope=Scope.REGIONAL,
    calls=("securityhub.DescribeHub", "securityhub.GetEnabledStandards", "securityhub.GetFindings"),
)
def collect_securityhub(ctx: CollectorContext) -> None:
    # An account that never enabled Security Hub answers InvalidAccessException ("not subscribed"): a fact.
    hub = ctx.setting(
        "securityhub.DescribeHub",
        kind="securityhub.hub",
        resource_type="hub",
        name="securityhub",
        absent={"InvalidAccessException"},
    )
    if not isinstance(hub, dict):
        return  # not enabled (no standard can be), or unknown (a gap already says so)
    # The standards the hub runs, as one complete list per region: a standard missing from it is not enabled.
    standards = ctx.paginate(
        "securityhub.GetEnabledStandards", kind="securityhub.enabled_standards", result_key="StandardsSubscriptions"
    )
    if standards is not None:
        ctx.record(
            kind="securityhub.enabled_standards",
            resource_type="hub",
            resource_id=setting_id(ctx.account_id, ctx.region, "securityhub-standards"),
            payload={"StandardsSubscriptions": standards},
            tags={},
        )
    findings = ctx.paginate(
        "securityhub.GetFindings",
        kind=THREAT_FINDING,
        result_key="Findings",
        Filters=_threat_filters(ctx.account_id, ctx.region),
    )
    if findings is None:
        return
    for finding in findings:
        ctx.record(
            kind=THREAT_FINDING,
            resource_type="securityhub-finding",
            resource_id=str(finding["Id"]),
            payload=kept_threat_finding(finding),
            tags={},
        )
    ctx.listing(kind=THREAT_FINDING, call="securityhub.GetFindings", resource_ids=[str(f["Id"]) for f in findings])


@collector(
    "macie", produces=("macie.session",), domain="logging", scope=Scope.REGIONAL, calls=("macie2.GetMacieSession",)
)
def collect_macie(ctx: CollectorContext) -> None:
    # Macie answers "Macie is not enabled" as AccessDeniedException (ResourceNotFoundException after it was
    # disabled): only those answers are the fact "not enabled"; any other refusal is a gap.
    session = ctx.call(
        "macie2.GetMacieSession", kind="macie.session", absent={"AccessDeniedException", "ResourceNotFoundException"}
    )
    if session is None:
        return
    if isinstance(session, Absent) and session.code == "AccessDeniedException" and "not enabled" not in session.message:
        ctx.gap("macie2.GetMacieSession", session.code, session.message, kind="macie.session")
        return
    # The session's state, without its creation and update times (not needed, and some endpoints return
    # them without a time zone, which the store rightly refuses).
    payload = (
        session.payload()
        if isinstance(session, Absent)
        else {k: v for k, v in session.items() if k in ("status", "findingPublishingFrequency", "serviceRole")}
    )
    ctx.record(
        kind="macie.session",
        resource_type="macie-session",
        resource_id=setting_id(ctx.account_id, ctx.region, "macie"),
        payload=payload,
        tags={},
    )
