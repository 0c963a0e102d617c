"""EC2 networking and compute: VPCs (flow logs, subnets, the default security group tagged), security groups
(ingress, and egress narrower than AWS's default), instances (IMDSv2, encrypted root volumes, source/destination
checking), EBS volumes, EBS encryption by default, default VPCs deleted."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from auditpack.estate.target import Spec, Target, owner_tags

IMAGE_ID = "ami-0c7217cdde317cfec"  # any id: moto does not check images when its built-in AMIs are not loaded


class Vpc(Spec):
    name: str
    cidr: str
    flow_logs_to: str | None = None  # the bucket VPC flow logs are delivered to; None: no flow logs
    owner: str | None = None
    subnet_zones: tuple[str, ...] = ("a", "b")  # one /24 subnet per availability zone letter


class Ingress(Spec):
    port: int
    cidr: str = "0.0.0.0/0"
    protocol: str = "tcp"


class Egress(Spec):
    port: int
    cidr: str = "0.0.0.0/0"  # the destination
    protocol: str = "tcp"


class SecurityGroup(Spec):
    name: str
    description: str
    ingress: tuple[Ingress, ...] = ()
    # None: AWS's default rule, all traffic out to 0.0.0.0/0; rules: the default revoked and only these allowed
    egress: tuple[Egress, ...] | None = None
    owner: str | None = None


class Instance(Spec):
    name: str
    security_group: str | None = None  # name of a group of the same VPC; None: the VPC's default group
    count: int = Field(default=1, ge=1)
    type: str = "t3.micro"
    imdsv2: bool = True  # the metadata service requires session tokens
    source_dest_check: bool = True  # off only for NAT or network appliance instances
    root_volume_gb: int | None = 30  # an explicit gp3 root volume; None: the image's default
    owner: str | None = None
    tags: dict[str, str] = {}


class Snapshot(Spec):
    description: str = "manual snapshot"
    public: bool = False  # createVolumePermission for the group all: any AWS account may copy the disk


class Volume(Spec):
    zone: str = "a"  # availability zone letter in the target's region
    size_gb: int = 8
    encrypted: bool = False
    snapshots: tuple[Snapshot, ...] = ()


@dataclass(frozen=True)
class PlantedVpc:
    id: str
    subnets: list[str]


def delete_default_vpcs(target: Target) -> None:
    """Landing zones delete the default VPC of every region; an unused default VPC has no flow logs."""
    ec2 = target.client("ec2")
    for vpc in ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]:
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
        for subnet in subnets:
            ec2.delete_subnet(SubnetId=subnet["SubnetId"])
        gateways = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc["VpcId"]]}])
        for gateway in gateways["InternetGateways"]:
            ec2.detach_internet_gateway(InternetGatewayId=gateway["InternetGatewayId"], VpcId=vpc["VpcId"])
            ec2.delete_internet_gateway(InternetGatewayId=gateway["InternetGatewayId"])
        ec2.delete_vpc(VpcId=vpc["VpcId"])


def enable_ebs_encryption_by_default(target: Target) -> None:
    target.client("ec2").enable_ebs_encryption_by_default()


def default_vpc(target: Target) -> PlantedVpc:
    """The region's default VPC (moto creates one per region) and its subnets."""
    ec2 = target.client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    return PlantedVpc(vpc, [subnet["SubnetId"] for subnet in subnets])


def plant_vpc(target: Target, vpc: Vpc) -> PlantedVpc:
    """The VPC, its default security group tagged with the VPC's owner (as landing zones do), flow logs to S3, and
    a /24 subnet per zone."""
    ec2 = target.client("ec2")
    vpc_id = ec2.create_vpc(
        CidrBlock=vpc.cidr, TagSpecifications=[{"ResourceType": "vpc", "Tags": owner_tags(vpc.owner, Name=vpc.name)}]
    )["Vpc"]["VpcId"]
    target.count("VPCs")
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
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=str(next(blocks)), AvailabilityZone=f"{target.region}{zone}")[
            "Subnet"
        ]["SubnetId"]
        for zone in vpc.subnet_zones
    ]
    return PlantedVpc(vpc_id, subnets)


def _permissions(rules: Iterable[Ingress | Egress]) -> list[dict[str, Any]]:
    """Security group rules as EC2's IpPermissions: one port (or range start = end) from one CIDR each."""
    return [
        {"IpProtocol": rule.protocol, "FromPort": rule.port, "ToPort": rule.port, "IpRanges": [{"CidrIp": rule.cidr}]}
        for rule in rules
    ]


def plant_security_group(target: Target, group: SecurityGroup, vpc_id: str) -> str:
    """The group with its ingress rules; its id."""
    ec2 = target.client("ec2")
    group_id = str(
        ec2.create_security_group(
            GroupName=group.name,
            Description=group.description,
            VpcId=vpc_id,
            TagSpecifications=[{"ResourceType": "security-group", "Tags": owner_tags(group.owner, Name=group.name)}],
        )["GroupId"]
    )
    if group.ingress:
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=_permissions(group.ingress))
    if group.egress is not None:
        ec2.revoke_security_group_egress(
            GroupId=group_id, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
        )
        if group.egress:
            ec2.authorize_security_group_egress(GroupId=group_id, IpPermissions=_permissions(group.egress))
    target.count("security groups")
    return group_id


def plant_instances(
    target: Target,
    instance: Instance,
    *,
    subnet_id: str | None = None,
    security_group_id: str | None = None,
    encrypted_root: bool = True,
) -> list[str]:
    """`instance.count` instances; their ids. Without a subnet they land in the default VPC."""
    placement = {
        **({"SubnetId": subnet_id} if subnet_id else {}),
        **({"SecurityGroupIds": [security_group_id]} if security_group_id else {}),
    }
    # With EBS encryption by default on, AWS encrypts new volumes; moto does not, so ask for it explicitly.
    root = (
        {
            "BlockDeviceMappings": [
                {
                    "DeviceName": "/dev/xvda",
                    "Ebs": {"VolumeSize": instance.root_volume_gb, "VolumeType": "gp3", "Encrypted": encrypted_root},
                }
            ]
        }
        if instance.root_volume_gb
        else {}
    )
    answer = target.client("ec2").run_instances(
        ImageId=IMAGE_ID,
        MinCount=instance.count,
        MaxCount=instance.count,
        InstanceType=instance.type,
        **placement,
        MetadataOptions={"HttpTokens": "required" if instance.imdsv2 else "optional", "HttpEndpoint": "enabled"},
        **root,
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": owner_tags(instance.owner, Name=instance.name, **instance.tags)},
            # The explicit root volume is tagged like its instance.
            *([{"ResourceType": "volume", "Tags": owner_tags(instance.owner, Name=instance.name)}] if root else []),
        ],
    )
    target.count("EC2 instances", instance.count)
    ids = [item["InstanceId"] for item in answer["Instances"]]
    if not instance.source_dest_check:
        for instance_id in ids:
            target.client("ec2").modify_instance_attribute(InstanceId=instance_id, SourceDestCheck={"Value": False})
    return ids


def plant_volume(target: Target, volume: Volume) -> str:
    """A detached EBS volume; its id."""
    answer = target.client("ec2").create_volume(
        AvailabilityZone=f"{target.region}{volume.zone}", Size=volume.size_gb, Encrypted=volume.encrypted
    )
    target.count("EBS volumes")
    for snapshot in volume.snapshots:
        plant_snapshot(target, answer["VolumeId"], snapshot)
    return str(answer["VolumeId"])


def plant_snapshot(target: Target, volume_id: str, snapshot: Snapshot) -> str:
    """A snapshot of the volume (encrypted as the volume is), made public when asked; its id."""
    ec2 = target.client("ec2")
    snapshot_id = str(ec2.create_snapshot(VolumeId=volume_id, Description=snapshot.description)["SnapshotId"])
    if snapshot.public:
        ec2.modify_snapshot_attribute(
            SnapshotId=snapshot_id, Attribute="createVolumePermission", OperationType="add", GroupNames=["all"]
        )
    target.count("EBS snapshots")
    return snapshot_id
