"""Monitoring: CloudWatch Logs metric filters and CloudWatch alarms (how security events in the trail's log
group reach someone), Security Hub (and the standards it runs) and Macie, per region."""

from __future__ import annotations

from evidence.collectors.context import Absent, CollectorContext, setting_id
from evidence.collectors.registry import Scope, collector


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
    produces=("securityhub.hub", "securityhub.enabled_standards"),
    domain="logging",
    scope=Scope.REGIONAL,
    calls=("securityhub.DescribeHub", "securityhub.GetEnabledStandards"),
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
