"""Network exposure: security groups. (RDS public accessibility comes from the RDS read in `encryption`.)"""

from __future__ import annotations

from evidence.collectors.context import CollectorContext
from evidence.collectors.registry import Scope, collector


@collector(
    "security_groups",
    produces=("ec2.security_group",),
    domain="network",
    scope=Scope.REGIONAL,
    calls=("ec2.DescribeSecurityGroups",),
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
