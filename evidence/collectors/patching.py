"""Patching: EC2 instances and their Systems Manager state (managed, patch compliance), Lambda functions
(runtimes) and their resource-based policies. (RDS minor-version upgrades come from the RDS read in `encryption`.)"""

from __future__ import annotations

import json
from typing import Any

from evidence.collectors.context import Absent, CollectorContext, setting_id
from evidence.collectors.registry import Scope, collector

# Instances that exist; terminated ones linger in the API for an hour and are not part of the estate.
_LIVE_STATES = ["pending", "running", "shutting-down", "stopping", "stopped"]
PATCH_STATE_BATCH = 50  # DescribeInstancePatchStates takes at most 50 instance ids


def instance_arn(ctx: CollectorContext, instance_id: str) -> str:
    if instance_id.startswith("mi-"):  # an on-premises managed node
        return ctx.arn("ssm", f"managed-instance/{instance_id}")
    return ctx.arn("ec2", f"instance/{instance_id}")


@collector(
    "ec2_instances",
    produces=("ec2.instance",),
    domain="patching",
    scope=Scope.REGIONAL,
    calls=("ec2.DescribeInstances",),
)
def collect_instances(ctx: CollectorContext) -> None:
    reservations = ctx.paginate(
        "ec2.DescribeInstances",
        kind="ec2.instance",
        result_key="Reservations",
        Filters=[{"Name": "instance-state-name", "Values": _LIVE_STATES}],
    )
    if reservations is None:
        return
    arns = []
    for reservation in reservations:
        for instance in reservation.get("Instances", []):
            arn = instance_arn(ctx, instance["InstanceId"])
            arns.append(arn)
            ctx.record(
                kind="ec2.instance",
                resource_type="instance",
                resource_id=arn,
                payload=instance,
                tags=instance.get("Tags") or [],
            )
    ctx.listing(kind="ec2.instance", call="ec2.DescribeInstances", resource_ids=arns)


@collector(
    "ssm",
    produces=("ssm.instance_information", "ssm.patch_state"),
    domain="patching",
    scope=Scope.REGIONAL,
    calls=("ssm.DescribeInstanceInformation", "ssm.DescribeInstancePatchStates"),
)
def collect_ssm(ctx: CollectorContext) -> None:
    information = ctx.paginate(
        "ssm.DescribeInstanceInformation", kind="ssm.instance_information", result_key="InstanceInformationList"
    )
    if information is None:
        return
    # One item for the region: an instance missing from this complete list is not managed.
    ctx.record(
        kind="ssm.instance_information",
        resource_type="managed-instances",
        resource_id=setting_id(ctx.account_id, ctx.region, "ssm-managed-instances"),
        payload={"InstanceInformationList": information},
        tags={},
    )
    ids = [item["InstanceId"] for item in information if item.get("InstanceId")]
    found: list[str] = []
    for start in range(0, len(ids), PATCH_STATE_BATCH):
        states = ctx.paginate(
            "ssm.DescribeInstancePatchStates",
            kind="ssm.patch_state",
            result_key="InstancePatchStates",
            InstanceIds=ids[start : start + PATCH_STATE_BATCH],
        )
        if states is None:
            continue
        for state in states:
            arn = instance_arn(ctx, state["InstanceId"])
            found.append(arn)
            ctx.record(kind="ssm.patch_state", resource_type="instance", resource_id=arn, payload=state, tags={})
    if ids:
        ctx.listing(kind="ssm.patch_state", call="ssm.DescribeInstancePatchStates", resource_ids=found)


@collector(
    "lambda",
    produces=("lambda.function", "lambda.function_policy"),
    domain="patching",
    scope=Scope.REGIONAL,
    calls=("lambda.ListFunctions", "lambda.GetPolicy"),
)
def collect_lambda(ctx: CollectorContext) -> None:
    """Functions (runtimes, environment variable names) and each function's resource-based policy (who may
    invoke it)."""
    functions = ctx.paginate("lambda.ListFunctions", kind="lambda.function", result_key="Functions")
    if functions is None:
        return
    for function in functions:
        arn = function["FunctionArn"]
        # Environment variable values are redacted by the recorder's redaction; only their names are kept.
        ctx.record(kind="lambda.function", resource_type="function", resource_id=arn, payload=function, tag_arn=arn)
        ctx.spawn(_function_policy, ctx, arn)  # one read per function: in parallel, as for S3 buckets
    ctx.listing(kind="lambda.function", call="lambda.ListFunctions", resource_ids=[f["FunctionArn"] for f in functions])


def _function_policy(ctx: CollectorContext, arn: str) -> None:
    # A function nobody was granted access to has no policy: ResourceNotFoundException is that fact.
    answer = ctx.call(
        "lambda.GetPolicy",
        kind="lambda.function_policy",
        resource_id=arn,
        absent={"ResourceNotFoundException"},
        FunctionName=arn,
    )
    if answer is None:
        return
    if isinstance(answer, Absent):
        payload: dict[str, Any] = answer.payload()
    else:
        try:
            payload = {"Policy": json.loads(answer["Policy"])}
        except (TypeError, ValueError):
            payload = {"Policy": answer.get("Policy"), "Unparsable": True}
    ctx.record(kind="lambda.function_policy", resource_type="function", resource_id=arn, payload=payload, tag_arn=arn)
