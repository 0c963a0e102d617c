"""Builds one region of one demo account: KMS keys, CloudTrail, AWS Config, GuardDuty, EBS defaults, VPCs with
their security groups, instances and databases, Lambda functions, log groups, the services only inventoried
(DynamoDB, ECS, EKS) and AWS Backup plans."""

from __future__ import annotations

import io
import ipaddress
import json
import zipfile
from collections import Counter
from functools import cache
from typing import Any

import boto3

from auditpack.demo.spec import EstateSpec, Region, Vpc

IMAGE_ID = "ami-0c7217cdde317cfec"  # any id: moto does not check images when its built-in AMIs are not loaded
CONFIG_ROLE = "aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
ALL_MANAGEMENT_EVENTS = [{"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": []}]


def owner_tags(owner: str | None, **extra: str) -> list[dict[str, str]]:
    tags = {**({"Owner": owner} if owner else {}), **extra}
    return [{"Key": key, "Value": value} for key, value in tags.items()]


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
    _detection(client, spec, account_id, estate.config_bucket, keys, tally)
    for vpc in spec.vpcs:
        _vpc(ec2, client("rds"), region, vpc, spec, estate.canary, keys, tally)
    roles = _Roles(client("iam"))
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
    logs = client("logs")
    for group in spec.log_groups:
        logs.create_log_group(logGroupName=group.name, tags={"Owner": group.owner} if group.owner else {})
        if group.retention_days is not None:
            logs.put_retention_policy(logGroupName=group.name, retentionInDays=group.retention_days)
        tally["log groups"] += 1
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


def _detection(
    client: Any, spec: Region, account_id: str, config_bucket: str, keys: dict[str, str], tally: Counter[str]
) -> None:
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
        client("guardduty").create_detector(Enable=spec.guardduty == "enabled", FindingPublishingFrequency="SIX_HOURS")
        tally["GuardDuty detectors"] += 1
    cloudtrail = client("cloudtrail")
    for trail in spec.trails:
        cloudtrail.create_trail(
            Name=trail.name,
            S3BucketName=trail.bucket,
            IsMultiRegionTrail=trail.multi_region,
            EnableLogFileValidation=trail.log_validation,
            IncludeGlobalServiceEvents=True,
            **({"KmsKeyId": keys[trail.kms_key]} if trail.kms_key else {}),
        )
        cloudtrail.put_event_selectors(TrailName=trail.name, EventSelectors=ALL_MANAGEMENT_EVENTS)
        if trail.logging:
            cloudtrail.start_logging(Name=trail.name)
        tally["CloudTrail trails"] += 1


def _vpc(
    ec2: Any,
    rds: Any,
    region: str,
    vpc: Vpc,
    spec: Region,
    canary: str,
    keys: dict[str, str],
    tally: Counter[str],
) -> None:
    vpc_id = ec2.create_vpc(
        CidrBlock=vpc.cidr, TagSpecifications=[{"ResourceType": "vpc", "Tags": owner_tags(vpc.owner, Name=vpc.name)}]
    )["Vpc"]["VpcId"]
    tally["VPCs"] += 1
    # The landing zone tags each VPC's default security group with the VPC's owner.
    default = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"]
    ec2.create_tags(Resources=[g["GroupId"] for g in default], Tags=owner_tags(vpc.owner, Name=f"{vpc.name}-default"))
    if vpc.flow_logs_to:
        ec2.create_flow_logs(
            ResourceIds=[vpc_id],
            ResourceType="VPC",
            TrafficType="ALL",
            LogDestinationType="s3",
            LogDestination=f"arn:aws:s3:::{vpc.flow_logs_to}",
        )
    blocks = ipaddress.ip_network(vpc.cidr).subnets(new_prefix=24)
    subnets = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=str(next(blocks)), AvailabilityZone=f"{region}{zone}")["Subnet"][
            "SubnetId"
        ]
        for zone in ("a", "b")
    ]
    groups = {}
    for group in vpc.security_groups:
        group_id = ec2.create_security_group(
            GroupName=group.name,
            Description=group.description,
            VpcId=vpc_id,
            TagSpecifications=[{"ResourceType": "security-group", "Tags": owner_tags(group.owner, Name=group.name)}],
        )["GroupId"]
        if group.ingress:
            ec2.authorize_security_group_ingress(
                GroupId=group_id,
                IpPermissions=[
                    {
                        "IpProtocol": rule.protocol,
                        "FromPort": rule.port,
                        "ToPort": rule.port,
                        "IpRanges": [{"CidrIp": rule.cidr}],
                    }
                    for rule in group.ingress
                ],
            )
        groups[group.name] = group_id
        tally["security groups"] += 1
    for instance in vpc.instances:
        # With EBS encryption by default on, AWS encrypts new volumes; moto does not, so ask for it explicitly.
        ec2.run_instances(
            ImageId=IMAGE_ID,
            MinCount=instance.count,
            MaxCount=instance.count,
            InstanceType=instance.type,
            SubnetId=subnets[0],
            SecurityGroupIds=[groups[instance.security_group]],
            BlockDeviceMappings=[
                {
                    "DeviceName": "/dev/xvda",
                    "Ebs": {"VolumeSize": 30, "VolumeType": "gp3", "Encrypted": spec.ebs_encryption_by_default},
                }
            ],
            TagSpecifications=[
                {"ResourceType": "instance", "Tags": owner_tags(instance.owner, Name=instance.name, **instance.tags)},
                {"ResourceType": "volume", "Tags": owner_tags(instance.owner, Name=instance.name)},
            ],
        )
        tally["EC2 instances"] += instance.count
    if vpc.databases:
        subnet_group = f"{vpc.name}-databases"
        rds.create_db_subnet_group(
            DBSubnetGroupName=subnet_group, DBSubnetGroupDescription=f"{vpc.name} databases", SubnetIds=subnets
        )
    for database in vpc.databases:
        rds.create_db_instance(
            DBInstanceIdentifier=database.id,
            Engine=database.engine,
            DBInstanceClass="db.m6g.large",
            MasterUsername="acme_admin",
            MasterUserPassword=canary,
            AllocatedStorage=100,
            StorageEncrypted=database.storage_encrypted,
            **({"KmsKeyId": keys[database.kms_key]} if database.kms_key else {}),
            PubliclyAccessible=database.public,
            BackupRetentionPeriod=database.backup_retention_days,
            AutoMinorVersionUpgrade=database.auto_minor_version_upgrade,
            DBSubnetGroupName=subnet_group,
            VpcSecurityGroupIds=[groups[database.security_group]],
            Tags=owner_tags(database.owner),
        )
        tally["RDS instances"] += 1


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
        client("dynamodb").create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
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
