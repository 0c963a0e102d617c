"""Builds one VPC of the demo estate: flow logs, subnets, security groups, EC2 instances, RDS databases (with a
parameter group that refuses unencrypted connections) and Application Load Balancers with their certificates
and WAF."""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from auditpack.demo.spec import Database, LoadBalancer, Region, Vpc

IMAGE_ID = "ami-0c7217cdde317cfec"  # any id: moto does not check images when its built-in AMIs are not loaded
# How each engine is told to refuse unencrypted connections (the rds.tls_required check reads these).
TLS_PARAMETERS = {
    "postgres": ("postgres16", "rds.force_ssl", "1"),
    "mysql": ("mysql8.0", "require_secure_transport", "ON"),
}


def owner_tags(owner: str | None, **extra: str) -> list[dict[str, str]]:
    tags = {**({"Owner": owner} if owner else {}), **extra}
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def build_vpc(
    client: Callable[[str], Any],
    region: str,
    vpc: Vpc,
    spec: Region,
    *,
    canary: str,
    keys: dict[str, str],
    tally: Counter[str],
) -> None:
    ec2 = client("ec2")
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
    groups = _security_groups(ec2, vpc, vpc_id, tally)
    for instance in vpc.instances:
        # With EBS encryption by default on, AWS encrypts new volumes; moto does not, so ask for it explicitly.
        ec2.run_instances(
            ImageId=IMAGE_ID,
            MinCount=instance.count,
            MaxCount=instance.count,
            InstanceType=instance.type,
            SubnetId=subnets[0],
            SecurityGroupIds=[groups[instance.security_group]],
            MetadataOptions={"HttpTokens": "required" if instance.imdsv2 else "optional", "HttpEndpoint": "enabled"},
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
        _databases(client("rds"), vpc, subnets, groups, canary=canary, keys=keys, tally=tally)
    for balancer in vpc.load_balancers:
        _load_balancer(client, balancer, vpc_id, subnets, groups[balancer.security_group], tally)


def _security_groups(ec2: Any, vpc: Vpc, vpc_id: str, tally: Counter[str]) -> dict[str, str]:
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
    return groups


def _databases(
    rds: Any,
    vpc: Vpc,
    subnets: list[str],
    groups: dict[str, str],
    *,
    canary: str,
    keys: dict[str, str],
    tally: Counter[str],
) -> None:
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
            **({"MaxAllocatedStorage": database.max_storage_gb} if database.max_storage_gb else {}),
            **({"DBParameterGroupName": _parameter_group(rds, vpc, database)} if database.tls_required else {}),
            PubliclyAccessible=database.public,
            BackupRetentionPeriod=database.backup_retention_days,
            AutoMinorVersionUpgrade=database.auto_minor_version_upgrade,
            MultiAZ=database.multi_az,
            DeletionProtection=database.deletion_protection,
            DBSubnetGroupName=subnet_group,
            VpcSecurityGroupIds=[groups[database.security_group]],
            Tags=owner_tags(database.owner, **_classified(database.classification)),
        )
        tally["RDS instances"] += 1


def _classified(classification: str | None) -> dict[str, str]:
    return {"DataClassification": classification} if classification else {}


def _parameter_group(rds: Any, vpc: Vpc, database: Database) -> str:
    family, parameter, value = TLS_PARAMETERS[database.engine]
    name = f"{vpc.name}-{database.engine}-tls"
    existing = rds.describe_db_parameter_groups()["DBParameterGroups"]
    if name not in {group["DBParameterGroupName"] for group in existing}:
        rds.create_db_parameter_group(
            DBParameterGroupName=name, DBParameterGroupFamily=family, Description="Encrypted connections only"
        )
        rds.modify_db_parameter_group(
            DBParameterGroupName=name,
            Parameters=[{"ParameterName": parameter, "ParameterValue": value, "ApplyMethod": "pending-reboot"}],
        )
    return name


def _load_balancer(
    client: Callable[[str], Any],
    balancer: LoadBalancer,
    vpc_id: str,
    subnets: list[str],
    security_group: str,
    tally: Counter[str],
) -> None:
    """HTTPS with the TLS policy and an imported certificate; HTTP only redirects; WAF in front when asked."""
    elb = client("elbv2")
    certificate, key = self_signed(balancer.domain, balancer.certificate_days)
    certificate_arn = client("acm").import_certificate(
        Certificate=certificate, PrivateKey=key, Tags=owner_tags(balancer.owner)
    )["CertificateArn"]
    arn = elb.create_load_balancer(
        Name=balancer.name,
        Subnets=subnets,
        SecurityGroups=[security_group],
        Scheme="internal" if balancer.internal else "internet-facing",
        Type="application",
        Tags=owner_tags(balancer.owner),
    )["LoadBalancers"][0]["LoadBalancerArn"]
    target = elb.create_target_group(Name=f"{balancer.name}-app"[:32], Protocol="HTTPS", Port=8443, VpcId=vpc_id)
    forward = [{"Type": "forward", "TargetGroupArn": target["TargetGroups"][0]["TargetGroupArn"]}]
    elb.create_listener(
        LoadBalancerArn=arn,
        Protocol="HTTPS",
        Port=443,
        SslPolicy=balancer.tls_policy,
        Certificates=[{"CertificateArn": certificate_arn}],
        DefaultActions=forward,
    )
    if not balancer.internal:
        redirect = {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}
        elb.create_listener(
            LoadBalancerArn=arn,
            Protocol="HTTP",
            Port=80,
            DefaultActions=[{"Type": "redirect", "RedirectConfig": redirect}],
        )
    if balancer.waf:
        waf = client("wafv2")
        acl = waf.create_web_acl(
            Name=f"{balancer.name}-waf",
            Scope="REGIONAL",
            DefaultAction={"Allow": {}},
            VisibilityConfig={
                "SampledRequestsEnabled": True,
                "CloudWatchMetricsEnabled": True,
                "MetricName": balancer.name,
            },
            Rules=[],
        )["Summary"]
        waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=arn)
    tally["load balancers"] += 1


def self_signed(domain: str, days: int) -> tuple[bytes, bytes]:
    """A certificate for `domain` valid for `days` more days, and its key (PEM): what ACM imports."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=365 - days if days < 365 else 1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return certificate.public_bytes(serialization.Encoding.PEM), pem_key
