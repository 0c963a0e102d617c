"""Network exposure: security groups, and which network interfaces use each. (RDS public accessibility comes
from the RDS read in `encryption`.)"""

from __future__ import annotations

from typing import Any

from evidence.collectors.context import CollectorContext, setting_id
from evidence.collectors.registry import Scope, collector

ATTACHMENTS = "ec2.security_group_attachments"


@collector(
    "security_groups",
    produces=("ec2.security_group", ATTACHMENTS),
    domain="network",
    scope=Scope.REGIONAL,
    calls=("ec2.DescribeSecurityGroups", "ec2.DescribeNetworkInterfaces"),
)
def collect_security_groups(ctx: CollectorContext) -> None:
    groups = ctx.paginate("ec2.DescribeSecurityGroups", kind="ec2.security_group", result_key="SecurityGroups")
    if groups is None:
        return
    arns = []
    for group in groups:
        arn = group.get("SecurityGroupArn") or ctx.arn("ec2", f"security-group/{group['GroupId']}")
        arns.append(arn)
        ctx.record(
            kind="ec2.security_group",
            resource_type="security-group",
            resource_id=arn,
            payload=group,
            tags=group.get("Tags") or [],
        )
    ctx.listing(kind="ec2.security_group", call="ec2.DescribeSecurityGroups", resource_ids=arns)
    _attachments(ctx)


def _attachments(ctx: CollectorContext) -> None:
    """Per security group, the network interfaces that use it: instances, databases, load balancers, functions in
    a VPC, endpoints all reach the network through an interface, so a group no interface uses protects nothing."""
    interfaces = ctx.paginate("ec2.DescribeNetworkInterfaces", kind=ATTACHMENTS, result_key="NetworkInterfaces")
    if interfaces is None:
        return
    by_group: dict[str, list[dict[str, Any]]] = {}
    for interface in interfaces:
        used_by = {
            "NetworkInterfaceId": interface.get("NetworkInterfaceId"),
            "InterfaceType": interface.get("InterfaceType"),
            "Description": interface.get("Description"),
            "InstanceId": (interface.get("Attachment") or {}).get("InstanceId"),
        }
        for group in interface.get("Groups") or []:
            by_group.setdefault(str(group.get("GroupId")), []).append(used_by)
    ctx.record(
        kind=ATTACHMENTS,
        resource_type="security-group-attachments",
        resource_id=setting_id(ctx.account_id, ctx.region, "security-group-attachments"),
        payload={"SecurityGroups": by_group},
        tags={},
    )
