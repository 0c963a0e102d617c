"""CloudWatch Logs and alarms: log groups with retention, and the CIS security-event metric filters with their
alarms on a trail's log group (`security_alarms.yaml`)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType

import yaml

from auditpack.estate.target import Spec, Target, tag_map


class LogGroup(Spec):
    name: str
    retention_days: int | None = None  # None: never expire
    owner: str | None = None


class SecurityAlarms(Spec):
    """How the security-event alarms are named and whom they notify (the events are `cis_security_alarms()`)."""

    namespace: str = "Security"  # of the metrics
    alarm_prefix: str = ""  # alarm name = prefix + event name
    topic: str = "security-alerts"  # SNS topic name in the trail's account and region


@cache
def cis_security_alarms() -> Mapping[str, str]:
    """Event name -> metric filter pattern, for every CIS monitoring item."""
    text = resources.files("auditpack.estate").joinpath("security_alarms.yaml").read_text("utf-8")
    return MappingProxyType(yaml.safe_load(text))


def plant_log_group(target: Target, group: LogGroup) -> str:
    """The group, with its retention; its name (`log_group_arn` asks for its ARN: one call more, which would
    shift every seeded id planted after it)."""
    logs = target.client("logs")
    logs.create_log_group(logGroupName=group.name, tags=tag_map(group.owner))
    if group.retention_days is not None:
        logs.put_retention_policy(logGroupName=group.name, retentionInDays=group.retention_days)
    target.count("log groups")
    return group.name


def log_group_arn(target: Target, name: str) -> str:
    groups = target.client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    return str(next(group["arn"] for group in groups if group["logGroupName"] == name))


def plant_security_alarms(target: Target, log_group: str, alarms: SecurityAlarms) -> None:
    """A metric filter on `log_group` and an alarm notifying the topic, per CIS monitoring item."""
    logs, cloudwatch = target.client("logs"), target.client("cloudwatch")
    topic = f"arn:aws:sns:{target.region}:{target.account_id}:{alarms.topic}"
    for name, pattern in cis_security_alarms().items():
        logs.put_metric_filter(
            logGroupName=log_group,
            filterName=name,
            filterPattern=pattern,
            metricTransformations=[{"metricName": name, "metricNamespace": alarms.namespace, "metricValue": "1"}],
        )
        cloudwatch.put_metric_alarm(
            AlarmName=f"{alarms.alarm_prefix}{name}",
            Namespace=alarms.namespace,
            MetricName=name,
            Statistic="Sum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            AlarmActions=[topic],
        )
