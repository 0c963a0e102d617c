"""Logging and detection: CloudTrail, AWS Config, VPC flow logs, CloudWatch Logs retention, GuardDuty."""

from __future__ import annotations

from typing import Any

from evidence.collectors.context import CollectorContext, setting_id
from evidence.collectors.registry import Scope, collector


def _owns_trail(ctx: CollectorContext, trail: dict[str, Any]) -> bool:
    """Each trail is recorded once: in its home region, or (a shadow of a multi-region or organization trail
    whose home region is outside the collected regions) in the first collected region."""
    home = trail.get("HomeRegion")
    if home == ctx.region:
        return True
    regions = ctx.account_regions or (ctx.region,)
    return home not in regions and ctx.region == min(regions)


@collector(
    "cloudtrail",
    produces=("cloudtrail.event_selectors", "cloudtrail.trail", "cloudtrail.trail_status"),
    domain="logging",
    scope=Scope.REGIONAL,
    calls=("cloudtrail.DescribeTrails", "cloudtrail.GetTrailStatus", "cloudtrail.GetEventSelectors"),
)
def collect_cloudtrail(ctx: CollectorContext) -> None:
    answer = ctx.call("cloudtrail.DescribeTrails", kind="cloudtrail.trail", includeShadowTrails=True)
    if answer is None:
        return
    trails = answer.get("trailList", [])
    ctx.listing(kind="cloudtrail.trail", call="cloudtrail.DescribeTrails", resource_ids=[t["TrailARN"] for t in trails])
    for trail in trails:
        if not _owns_trail(ctx, trail):
            continue
        arn = trail["TrailARN"]
        home = trail.get("HomeRegion") or ctx.region
        common: dict[str, Any] = {"resource_type": "trail", "resource_id": arn, "tag_arn": arn}
        ctx.record(kind="cloudtrail.trail", payload=trail, **common)
        status = ctx.call(
            "cloudtrail.GetTrailStatus", kind="cloudtrail.trail_status", resource_id=arn, region=home, Name=arn
        )
        if status is not None:
            ctx.record(kind="cloudtrail.trail_status", payload=status, **common)
        selectors = ctx.call(
            "cloudtrail.GetEventSelectors",
            kind="cloudtrail.event_selectors",
            resource_id=arn,
            region=home,
            TrailName=arn,
        )
        if selectors is not None:
            ctx.record(kind="cloudtrail.event_selectors", payload=selectors, **common)


@collector(
    "config",
    produces=("config.recorder_status", "config.recorders"),
    domain="logging",
    scope=Scope.REGIONAL,
    calls=("config.DescribeConfigurationRecorders", "config.DescribeConfigurationRecorderStatus"),
)
def collect_config(ctx: CollectorContext) -> None:
    resource_id = setting_id(ctx.account_id, ctx.region, "config-recorders")
    for call, kind in (
        ("config.DescribeConfigurationRecorders", "config.recorders"),
        ("config.DescribeConfigurationRecorderStatus", "config.recorder_status"),
    ):
        answer = ctx.call(call, kind=kind)
        if answer is not None:
            ctx.record(
                kind=kind, resource_type="configuration-recorder", resource_id=resource_id, payload=answer, tags={}
            )


@collector(
    "vpc_flow_logs",
    produces=("ec2.flow_logs", "ec2.vpc"),
    domain="logging",
    scope=Scope.REGIONAL,
    calls=("ec2.DescribeVpcs", "ec2.DescribeFlowLogs"),
)
def collect_vpc_flow_logs(ctx: CollectorContext) -> None:
    vpcs = ctx.paginate("ec2.DescribeVpcs", kind="ec2.vpc", result_key="Vpcs")
    if vpcs is not None:
        arns = []
        for vpc in vpcs:
            arn = ctx.arn("ec2", f"vpc/{vpc['VpcId']}")
            arns.append(arn)
            ctx.record(kind="ec2.vpc", resource_type="vpc", resource_id=arn, payload=vpc, tags=vpc.get("Tags") or [])
        ctx.listing(kind="ec2.vpc", call="ec2.DescribeVpcs", resource_ids=arns)
    flow_logs = ctx.paginate("ec2.DescribeFlowLogs", kind="ec2.flow_logs", result_key="FlowLogs")
    if flow_logs is not None:
        # One item for the region: a VPC without a flow log is proven by this complete list.
        ctx.record(
            kind="ec2.flow_logs",
            resource_type="flow-logs",
            resource_id=setting_id(ctx.account_id, ctx.region, "vpc-flow-logs"),
            payload={"FlowLogs": flow_logs},
            tags={},
        )


@collector(
    "log_groups",
    produces=("logs.log_group",),
    domain="logging",
    scope=Scope.REGIONAL,
    calls=("logs.DescribeLogGroups",),
)
def collect_log_groups(ctx: CollectorContext) -> None:
    groups = ctx.paginate("logs.DescribeLogGroups", kind="logs.log_group", result_key="logGroups")
    if groups is None:
        return
    arns = []
    for group in groups:
        arn = group.get("logGroupArn") or str(group.get("arn", "")).removesuffix(":*")
        arns.append(arn)
        ctx.record(kind="logs.log_group", resource_type="log-group", resource_id=arn, payload=group, tag_arn=arn)
    ctx.listing(kind="logs.log_group", call="logs.DescribeLogGroups", resource_ids=arns)


@collector(
    "guardduty",
    produces=("guardduty.administrator", "guardduty.detector", "guardduty.publishing_destinations"),
    domain="logging",
    scope=Scope.REGIONAL,
    calls=(
        "guardduty.ListDetectors",
        "guardduty.GetDetector",
        "guardduty.ListPublishingDestinations",
        "guardduty.DescribePublishingDestination",
        "guardduty.GetAdministratorAccount",
        "guardduty.ListMembers",
    ),
)
def collect_guardduty(ctx: CollectorContext) -> None:
    detector_ids = ctx.paginate("guardduty.ListDetectors", kind="guardduty.detector", result_key="DetectorIds")
    if detector_ids is None:
        return
    arn = ctx.arn("guardduty", "detector/{}")
    ctx.listing(
        kind="guardduty.detector", call="guardduty.ListDetectors", resource_ids=[arn.format(d) for d in detector_ids]
    )
    for detector_id in detector_ids:
        detector_arn = arn.format(detector_id)
        common: dict[str, Any] = {"resource_type": "detector", "resource_id": detector_arn, "tag_arn": detector_arn}
        detector = ctx.call(
            "guardduty.GetDetector", kind="guardduty.detector", resource_id=detector_arn, DetectorId=detector_id
        )
        if detector is not None:
            ctx.record(kind="guardduty.detector", payload={"DetectorId": detector_id, **detector}, **common)
        _publishing_destinations(ctx, detector_id, common)
        _administrator(ctx, detector_id, common)


def _administrator(ctx: CollectorContext, detector_id: str, common: dict[str, Any]) -> None:
    """Who administers the detector (a member of an Organization's delegated GuardDuty administrator cannot suspend
    GuardDuty or leave it) and, for a detector without an administrator, the members it administers itself (the
    delegated administrator's own detector). Recorded only when both answers are in."""
    kind = "guardduty.administrator"
    answer = ctx.call(
        "guardduty.GetAdministratorAccount", kind=kind, resource_id=common["resource_id"], DetectorId=detector_id
    )
    if answer is None:
        return
    administrator = answer.get("Administrator")
    members: list[dict[str, Any]] = []
    if not administrator:
        listed = ctx.paginate(
            "guardduty.ListMembers",
            kind=kind,
            result_key="Members",
            resource_id=common["resource_id"],
            DetectorId=detector_id,
            OnlyAssociated="true",
        )
        if listed is None:
            return
        # the account and its relationship only: members' e-mail addresses are not evidence of anything here
        members = [{k: m.get(k) for k in ("AccountId", "RelationshipStatus")} for m in listed]
    payload = {"DetectorId": detector_id, "Administrator": administrator, "Members": members}
    ctx.record(kind=kind, payload=payload, **common)


def _publishing_destinations(ctx: CollectorContext, detector_id: str, common: dict[str, Any]) -> None:
    """Where the detector exports its findings (an S3 bucket and the KMS key they are encrypted with), so they
    outlive the 90 days GuardDuty keeps them; recorded only when every destination could be described."""
    kind = "guardduty.publishing_destinations"
    listed: list[dict[str, Any]] = []
    token: dict[str, str] = {}
    while True:  # botocore has no paginator for this listing
        page = ctx.call(
            "guardduty.ListPublishingDestinations",
            kind=kind,
            resource_id=common["resource_id"],
            DetectorId=detector_id,
            **token,
        )
        if page is None:
            return
        listed.extend(page.get("Destinations") or [])
        if not page.get("NextToken"):
            break
        token = {"NextToken": page["NextToken"]}
    destinations = []
    for destination in listed:
        described = ctx.call(
            "guardduty.DescribePublishingDestination",
            kind=kind,
            resource_id=common["resource_id"],
            DetectorId=detector_id,
            DestinationId=destination["DestinationId"],
        )
        if described is None:
            return
        destinations.append({k: v for k, v in described.items() if k != "Tags"})
    ctx.record(kind=kind, payload={"DetectorId": detector_id, "Destinations": destinations}, **common)
