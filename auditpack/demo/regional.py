"""Builds one region of one demo account: KMS keys, CloudTrail, AWS Config, GuardDuty, EBS defaults, VPCs with
their security groups, instances and databases, Lambda functions, log groups, the services only inventoried
(DynamoDB, ECS, EKS) and AWS Backup plans."""

from __future__ import annotations

import io
import json
import zipfile
from collections import Counter
from functools import cache
from typing import Any

import boto3

from auditpack.demo.network import build_vpc
from auditpack.demo.spec import EstateSpec, Region, Trail

CONFIG_ROLE = "aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
ALL_MANAGEMENT_EVENTS = [{"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": []}]
ALL_S3_OBJECTS = [
    {
        "ReadWriteType": "All",
        "IncludeManagementEvents": False,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}],
    }
]


@cache
def _function_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return {'statusCode': 200}\n")
    return buffer.getvalue()


def build_region(
    session: boto3.Session, region: str, spec: Region, *, account_id: str, estate: EstateSpec, tally: Counter[str]
) -> None:
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:  # one client per service: creating one costs more than most calls
        if service not in clients:
            clients[service] = session.client(service, region_name=region)
        return clients[service]

    ec2 = client("ec2")
    if not spec.keep_default_vpc:
        _delete_default_vpcs(ec2)
    if spec.ebs_encryption_by_default:
        ec2.enable_ebs_encryption_by_default()
    keys = _keys(client("kms"), spec, tally)
    _detection(client, spec, account_id, estate.config_bucket, tally)
    logs = client("logs")
    for group in spec.log_groups:
        logs.create_log_group(logGroupName=group.name, tags={"Owner": group.owner} if group.owner else {})
        if group.retention_days is not None:
            logs.put_retention_policy(logGroupName=group.name, retentionInDays=group.retention_days)
        tally["log groups"] += 1
    roles = _Roles(client("iam"))
    for trail in spec.trails:
        _trail(client, trail, region, account_id, keys, roles, estate.security_alarms)
        tally["CloudTrail trails"] += 1
    for vpc in spec.vpcs:
        build_vpc(client, region, vpc, spec, canary=estate.canary, keys=keys, tally=tally)
    for function in spec.functions:
        client("lambda").create_function(
            FunctionName=function.name,
            Runtime=function.runtime,
            Role=roles.arn("acme-lambda-execution", "lambda.amazonaws.com"),
            Handler="handler.handle",
            Code={"ZipFile": _function_zip()},
            Environment={"Variables": function.environment},
            Tags={"Owner": function.owner} if function.owner else {},
        )
        tally["Lambda functions"] += 1
    _inventoried(client, spec, roles, ec2, tally)


def _delete_default_vpcs(ec2: Any) -> None:
    """Landing zones delete the default VPC of every region; an unused default VPC has no flow logs."""
    for vpc in ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]:
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
        for subnet in subnets:
            ec2.delete_subnet(SubnetId=subnet["SubnetId"])
        gateways = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}])
        for gateway in gateways["InternetGateways"]:
            ec2.detach_internet_gateway(InternetGatewayId=gateway["InternetGatewayId"], VpcId=vpc["VpcId"])
            ec2.delete_internet_gateway(InternetGatewayId=gateway["InternetGatewayId"])
        ec2.delete_vpc(VpcId=vpc["VpcId"])


def _keys(kms: Any, spec: Region, tally: Counter[str]) -> dict[str, str]:
    arns = {}
    for key in spec.keys:
        tags = [{"TagKey": "Owner", "TagValue": key.owner}] if key.owner else []
        metadata = kms.create_key(Description=key.description, Tags=tags)["KeyMetadata"]
        kms.create_alias(AliasName=f"alias/{key.alias}", TargetKeyId=metadata["KeyId"])
        if key.rotation:
            kms.enable_key_rotation(KeyId=metadata["KeyId"])
        arns[key.alias] = metadata["Arn"]
        tally["KMS keys"] += 1
    return arns


def _detection(client: Any, spec: Region, account_id: str, config_bucket: str, tally: Counter[str]) -> None:
    if spec.config_recorder:
        config = client("config")
        config.put_configuration_recorder(
            ConfigurationRecorder={
                "name": "default",
                "roleARN": f"arn:aws:iam::{account_id}:role/{CONFIG_ROLE}",
                "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True},
            }
        )
        config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": config_bucket})
        config.start_configuration_recorder(ConfigurationRecorderName="default")
    if spec.guardduty != "absent":
        features = (
            [{"Name": name, "Status": "ENABLED"} for name in ("EBS_MALWARE_PROTECTION", "RUNTIME_MONITORING")]
            if spec.guardduty_protection
            else []
        )
        client("guardduty").create_detector(
            Enable=spec.guardduty == "enabled", FindingPublishingFrequency="SIX_HOURS", Features=features
        )
        tally["GuardDuty detectors"] += 1
    if spec.security_hub:
        client("securityhub").enable_security_hub(EnableDefaultStandards=True)
    if not spec.macie:
        client("macie2").disable_macie()  # moto starts with Macie enabled in every account and region


def _trail(
    client: Any,
    trail: Trail,
    region: str,
    account_id: str,
    keys: dict[str, str],
    roles: _Roles,
    alarms: dict[str, str],
) -> None:
    delivery = {}
    if trail.log_group:
        group = client("logs").describe_log_groups(logGroupNamePrefix=trail.log_group)["logGroups"][0]
        delivery = {
            "CloudWatchLogsLogGroupArn": group["arn"],
            "CloudWatchLogsRoleArn": roles.arn("acme-cloudtrail-to-logs", "cloudtrail.amazonaws.com"),
        }
    cloudtrail = client("cloudtrail")
    cloudtrail.create_trail(
        Name=trail.name,
        S3BucketName=trail.bucket,
        IsMultiRegionTrail=trail.multi_region,
        EnableLogFileValidation=trail.log_validation,
        IncludeGlobalServiceEvents=True,
        **({"KmsKeyId": keys[trail.kms_key]} if trail.kms_key else {}),
        **delivery,
    )
    selectors = ALL_MANAGEMENT_EVENTS + (ALL_S3_OBJECTS if trail.s3_data_events else [])
    cloudtrail.put_event_selectors(TrailName=trail.name, EventSelectors=selectors)
    if trail.logging:
        cloudtrail.start_logging(Name=trail.name)
    if trail.log_group and trail.alarms:
        _security_alarms(client, trail.log_group, f"arn:aws:sns:{region}:{account_id}:acme-security-alerts", alarms)


def _security_alarms(client: Any, log_group: str, topic: str, alarms: dict[str, str]) -> None:
    """A metric filter on the trail's log group and an alarm notifying the security team, per monitored event."""
    logs, cloudwatch = client("logs"), client("cloudwatch")
    for name, pattern in alarms.items():
        logs.put_metric_filter(
            logGroupName=log_group,
            filterName=name,
            filterPattern=pattern,
            metricTransformations=[{"metricName": name, "metricNamespace": "AcmeSecurity", "metricValue": "1"}],
        )
        cloudwatch.put_metric_alarm(
            AlarmName=f"security-{name}",
            Namespace="AcmeSecurity",
            MetricName=name,
            Statistic="Sum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            AlarmActions=[topic],
        )


class _Roles:
    """Service roles created on first use (one per account: IAM is global)."""

    def __init__(self, iam: Any) -> None:
        self.iam = iam

    def arn(self, name: str, service: str) -> str:
        try:
            return str(self.iam.get_role(RoleName=name)["Role"]["Arn"])
        except self.iam.exceptions.NoSuchEntityException:
            trust = {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
            }
            return str(self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])


def _inventoried(client: Any, spec: Region, roles: _Roles, ec2: Any, tally: Counter[str]) -> None:
    for table in spec.dynamodb_tables:
        dynamodb = client("dynamodb")
        dynamodb.create_table(
            TableName=table.name,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            SSESpecification={"Enabled": True, "SSEType": "KMS"},
            Tags=[{"Key": "DataClassification", "Value": table.classification}] if table.classification else [],
        )
        if table.point_in_time_recovery:
            dynamodb.update_continuous_backups(
                TableName=table.name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
        tally["DynamoDB tables"] += 1
    for cluster in spec.ecs_clusters:
        client("ecs").create_cluster(clusterName=cluster)
        tally["ECS clusters"] += 1
    for cluster in spec.eks_clusters:
        subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
        client("eks").create_cluster(
            name=cluster,
            roleArn=roles.arn("acme-eks-cluster", "eks.amazonaws.com"),
            resourcesVpcConfig={"subnetIds": subnets},
        )
        tally["EKS clusters"] += 1
    for plan in spec.backup_plans:
        client("backup").create_backup_plan(
            BackupPlan={
                "BackupPlanName": plan.name,
                "Rules": [
                    {
                        "RuleName": plan.name,
                        "TargetBackupVaultName": "Default",
                        "ScheduleExpression": plan.schedule,
                        "Lifecycle": {"DeleteAfterDays": plan.retention_days},
                    }
                ],
            }
        )
        tally["AWS Backup plans"] += 1
