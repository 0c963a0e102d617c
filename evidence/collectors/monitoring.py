"""Monitoring: CloudWatch Logs metric filters and CloudWatch alarms (how security events in the trail's log
group reach someone), Security Hub (the standards it runs, and the threat findings still waiting for triage) and
Macie (its automated discovery, and what it found of sensitive authentication data), per region."""

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


MACIE_FINDING = "macie.sensitive_data_finding"
# The sensitive authentication data Macie's managed data identifiers detect: full track data (PCI DSS 3.3.1.1) and
# card verification codes (3.3.1.2).
SAD_IDENTIFIERS = ("CREDIT_CARD_MAGNETIC_STRIPE", "CREDIT_CARD_SECURITY_CODE")
_FINDINGS_PER_CALL = 50  # GetFindings' limit


def kept_macie_finding(finding: dict[str, Any]) -> dict[str, Any]:
    """Where Macie found what, and how much: the object, the types and counts detected. Never the occurrences'
    locations, tags or the bucket's settings."""
    affected = finding.get("resourcesAffected") or {}
    bucket, item = affected.get("s3Bucket") or {}, affected.get("s3Object") or {}
    result = (finding.get("classificationDetails") or {}).get("result") or {}
    return {
        **{
            k: finding[k]
            for k in ("id", "accountId", "region", "type", "category", "archived", "count")
            if k in finding
        },
        "severity": (finding.get("severity") or {}).get("description"),
        "resourcesAffected": {
            "s3Bucket": {k: bucket[k] for k in ("name", "arn") if k in bucket},
            "s3Object": {k: item[k] for k in ("key", "path", "versionId") if k in item},
        },
        "originType": (finding.get("classificationDetails") or {}).get("originType"),
        "sensitiveData": [
            {
                "category": data.get("category"),
                "detections": [{"type": d.get("type"), "count": d.get("count")} for d in data.get("detections") or []],
            }
            for data in result.get("sensitiveData") or []
        ],
    }


@collector(
    "macie",
    produces=("macie.session", "macie.automated_discovery", "macie.inspection_template", MACIE_FINDING),
    domain="logging",
    scope=Scope.REGIONAL,
    calls=(
        "macie2.GetMacieSession",
        "macie2.GetAutomatedDiscoveryConfiguration",
        "macie2.GetSensitivityInspectionTemplate",
        "macie2.ListFindings",
        "macie2.GetFindings",
    ),
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
    if payload.get("status") == "ENABLED":
        _automated_discovery(ctx)
        _sensitive_authentication_data(ctx)


def _automated_discovery(ctx: CollectorContext) -> None:
    """Whether Macie samples the region's buckets by itself, and which managed data identifiers it leaves out."""
    answer = ctx.call("macie2.GetAutomatedDiscoveryConfiguration", kind="macie.automated_discovery")
    if answer is None or isinstance(answer, Absent):
        return
    fields = ("status", "sensitivityInspectionTemplateId", "classificationScopeId", "autoEnableOrganizationMembers")
    ctx.record(
        kind="macie.automated_discovery",
        resource_type="macie-automated-discovery",
        resource_id=setting_id(ctx.account_id, ctx.region, "macie-automated-discovery"),
        payload={k: answer[k] for k in fields if k in answer},
        tags={},
    )
    template_id = answer.get("sensitivityInspectionTemplateId")
    if answer.get("status") != "ENABLED" or not template_id:
        return
    template = ctx.call("macie2.GetSensitivityInspectionTemplate", kind="macie.inspection_template", id=template_id)
    if template is None or isinstance(template, Absent):
        return
    ctx.record(
        kind="macie.inspection_template",
        resource_type="macie-inspection-template",
        resource_id=setting_id(ctx.account_id, ctx.region, "macie-inspection-template"),
        payload={
            k: template[k] for k in ("sensitivityInspectionTemplateId", "name", "includes", "excludes") if k in template
        },
        tags={},
    )


def _sensitive_authentication_data(ctx: CollectorContext) -> None:
    """Macie's unarchived findings of full track data or card verification codes in S3 objects. A delegated
    administrator also holds the findings its discovery made in its members' buckets: they are recorded here."""
    ids = ctx.paginate(
        "macie2.ListFindings",
        kind=MACIE_FINDING,
        result_key="findingIds",
        findingCriteria={
            "criterion": {
                "classificationDetails.result.sensitiveData.detections.type": {"eq": list(SAD_IDENTIFIERS)},
                "archived": {"eq": ["false"]},
            }
        },
    )
    if ids is None:
        return
    for start in range(0, len(ids), _FINDINGS_PER_CALL):
        batch = ids[start : start + _FINDINGS_PER_CALL]
        answer = ctx.call("macie2.GetFindings", kind=MACIE_FINDING, resource_id=batch[0], findingIds=batch)
        if answer is None or isinstance(answer, Absent):
            code, message = ctx.last_error or ("UnknownError", "")
            for finding_id in batch[1:]:  # the first one's gap is recorded already
                ctx.gap("macie2.GetFindings", code, message, kind=MACIE_FINDING, resource_id=finding_id)
            continue
        for finding in answer.get("findings") or []:
            ctx.record(
                kind=MACIE_FINDING,
                resource_type="macie-finding",
                resource_id=str(finding["id"]),
                payload=kept_macie_finding(finding),
                tags={},
            )
    ctx.listing(kind=MACIE_FINDING, call="macie2.ListFindings", resource_ids=ids)
