"""A whole estate as data (accounts, their IAM and S3, and per region everything else) and the order it is planted
in: the Organization, then account by account, region by region. `auditpack demo` reads its estate.yaml into
these models; tests may use them or call the families directly.

The sequence of calls is part of the behaviour: moto draws every id (accounts, keys, instances) and even every
response's request id from its seeded random generator, so one call more or less, a Describe included, shifts
every id planted after it. The demo's ids stay the same from run to run as long as new families are appended
after the existing ones.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import boto3

from auditpack.estate.backup import BackupPlan, plant_backup_plan
from auditpack.estate.cloudtrail import Trail, plant_trail
from auditpack.estate.containers import (
    EksCluster,
    FargateService,
    plant_ecs_cluster,
    plant_eks_cluster,
    plant_eks_hosting,
    plant_fargate_service,
)
from auditpack.estate.detection import (
    ThreatFinding,
    disable_macie,
    plant_config_recorder,
    plant_guardduty,
    plant_guardduty_administrator,
    plant_security_hub,
    plant_threat_findings,
)
from auditpack.estate.dynamodb import Table, plant_table
from auditpack.estate.ec2 import (
    Instance,
    SecurityGroup,
    Volume,
    Vpc,
    delete_default_vpcs,
    enable_ebs_encryption_by_default,
    plant_instances,
    plant_security_group,
    plant_volume,
    plant_vpc,
)
from auditpack.estate.ecr import RegistryScanning, Repository, plant_registry_scanning, plant_repository
from auditpack.estate.efs import FileSystem, plant_file_system
from auditpack.estate.elb import LoadBalancer, plant_load_balancer
from auditpack.estate.iam import (
    PermissionSet,
    Policy,
    Role,
    Root,
    SecurityContact,
    User,
    plant_password_policy,
    plant_permission_set,
    plant_policy,
    plant_role,
    plant_security_contact,
    plant_user,
)
from auditpack.estate.inspector import CriticalFinding, Inspector, plant_inspector
from auditpack.estate.kms import Key, plant_key
from auditpack.estate.lambda_ import Function, plant_function, plant_permissions
from auditpack.estate.logs import LogGroup, SecurityAlarms, log_group_arn, plant_log_group, plant_security_alarms
from auditpack.estate.organization import Member, plant_organization
from auditpack.estate.rds import Database, plant_database, plant_subnet_group, plant_tls_parameter_group
from auditpack.estate.route53 import HostedZone, plant_hosted_zone
from auditpack.estate.s3 import Bucket, plant_account_public_access_block, plant_bucket
from auditpack.estate.secrets import Secret, plant_secret
from auditpack.estate.target import ServiceRoles, Spec, Target, member_session
from core.clock import utcnow


class Network(Vpc):
    """A VPC with what runs in it."""

    security_groups: tuple[SecurityGroup, ...] = ()
    instances: tuple[Instance, ...] = ()
    databases: tuple[Database, ...] = ()
    load_balancers: tuple[LoadBalancer, ...] = ()


class Region(Spec):
    """One account's resources in one region. An account's region left out of the data gets the defaults."""

    ebs_encryption_by_default: bool = True
    config_recorder: bool = True
    guardduty: Literal["enabled", "disabled", "absent"] = "enabled"
    guardduty_protection: bool = True  # malware protection for EC2 and runtime monitoring
    security_hub: bool = True
    macie: bool = True
    keep_default_vpc: bool = False  # landing zones delete the default VPCs
    keys: tuple[Key, ...] = ()
    trails: tuple[Trail, ...] = ()
    vpcs: tuple[Network, ...] = ()
    functions: tuple[Function, ...] = ()
    log_groups: tuple[LogGroup, ...] = ()
    dynamodb_tables: tuple[Table, ...] = ()
    ecs_clusters: tuple[str, ...] = ()
    ecs_services: tuple[FargateService, ...] = ()  # planted last, by plant_estate (as EKS clusters' hosting)
    eks_clusters: tuple[EksCluster, ...] = ()
    backup_plans: tuple[BackupPlan, ...] = ()
    inspector: Inspector | None = None  # None: never enabled
    # Open critical findings of the region's functions: Inspector's scans make them, no API does, so plant_region
    # leaves them to the caller (the demo's simulated.py fills moto's findings queue from them).
    inspector_findings: tuple[CriticalFinding, ...] = ()
    ecr_scanning: RegistryScanning | None = None  # None: basic scanning without rules, as AWS starts
    ecr_repositories: tuple[Repository, ...] = ()
    efs_file_systems: tuple[FileSystem, ...] = ()
    volumes: tuple[Volume, ...] = ()  # detached EBS volumes, with their snapshots
    secrets: tuple[Secret, ...] = ()
    # Threats GuardDuty detected and sent to Security Hub, with their triage (planted last, by plant_estate).
    threat_findings: tuple[ThreatFinding, ...] = ()


class Account(Spec):
    key: str  # how the data refers to the account (its id is known only once created)
    name: str
    email: str
    root: Root
    password_policy: dict[str, Any] | None = None  # UpdateAccountPasswordPolicy's arguments
    security_contact: SecurityContact | None = None
    policies: tuple[Policy, ...] = ()
    roles: tuple[Role, ...] = ()
    users: tuple[User, ...] = ()
    permission_sets: tuple[PermissionSet, ...] = ()  # assigned through IAM Identity Center (planted last)
    block_public_access: bool = True  # account-wide S3 public access block
    hosted_zones: tuple[HostedZone, ...] = ()  # public Route 53 zones (planted last)
    buckets: tuple[Bucket, ...] = ()
    regions: dict[str, Region] = {}


class Conventions(Spec):
    """The names an estate gives to what its data does not name resource by resource."""

    lambda_role: str = "lambda-execution"
    trail_logs_role: str = "cloudtrail-to-logs"
    eks_role: str = "eks-cluster"
    eks_node_role: str = "eks-nodes"  # the instances of EKS managed node groups
    eks_pod_role: str = "eks-fargate-pods"  # the pods EKS Fargate profiles run
    database_admin: str = "admin"
    setup_session: str = "estate-builder"  # RoleSessionName when entering member accounts
    alarms: SecurityAlarms = SecurityAlarms()


class Estate(Spec):
    """An Organization: the first account is its management account (the base session's), the others members."""

    home_region: str
    regions: tuple[str, ...]
    config_bucket: str  # where every account's AWS Config recorders deliver
    conventions: Conventions = Conventions()
    accounts: tuple[Account, ...]
    guardduty_administrator: str | None = None  # the key of the Organization's delegated GuardDuty administrator

    def account(self, key: str) -> Account:
        return next(account for account in self.accounts if account.key == key)


@dataclass
class PlantedEstate:
    """Account ids by the estate's account keys, and how many resources of each kind were planted."""

    account_ids: dict[str, str] = field(default_factory=dict)
    resources: Counter[str] = field(default_factory=Counter)


def plant_estate(
    base: boto3.Session,
    estate: Estate,
    *,
    password: str,
    on_account: Callable[[str, str], None] | None = None,
) -> PlantedEstate:
    """Create the Organization and every account's resources. `password` is every console and database master
    password (a planted secret). `on_account(key, account_id)` is told when an account is done."""
    planted = PlantedEstate()
    management, *members = estate.accounts
    management_id, member_ids = plant_organization(base, [Member(name=a.name, email=a.email) for a in members])
    planted.account_ids[management.key] = management_id
    planted.account_ids.update(zip((a.key for a in members), member_ids, strict=True))

    def session_of(account: Account) -> boto3.Session:
        """The base session in the management account; in a member, a new session through its access role (one
        AssumeRole, whose request id moto draws: each block below enters each account once, always in this order)."""
        if account is management:
            return base
        account_id = planted.account_ids[account.key]
        return member_session(base, account_id, session_name=estate.conventions.setup_session)

    def at(session: boto3.Session, account: Account, region: str) -> Target:
        return Target(session, planted.account_ids[account.key], region, planted.resources)

    for account in estate.accounts:
        plant_account(at(session_of(account), account, estate.home_region), account, estate, password)
        if on_account is not None:
            on_account(account.key, planted.account_ids[account.key])
    # Identity Center's roles come after everything else, so that the ids moto drew for the rest stay as they were.
    for account in estate.accounts:
        if account.permission_sets:
            home = at(session_of(account), account, estate.home_region)
            for permission_set in account.permission_sets:
                plant_permission_set(home, permission_set)
    # The delegated GuardDuty administrator's members last too, for the same reason.
    if estate.guardduty_administrator is not None:
        administrator = planted.account_ids[estate.guardduty_administrator]
        for account in estate.accounts:
            if account.key == estate.guardduty_administrator:
                continue
            session = session_of(account)
            for name in estate.regions:
                if (account.regions.get(name) or Region()).guardduty != "absent":
                    plant_guardduty_administrator(at(session, account, name), administrator=administrator)
    # Route 53's zones last too (moto draws their ids): the ids of everything before stay as they were.
    for account in estate.accounts:
        if account.hosted_zones:
            home = at(session_of(account), account, estate.home_region)
            for zone in account.hosted_zones:
                plant_hosted_zone(home, zone)
    # Security Hub's threat findings last too, for the same reason.
    now = utcnow()
    for account in estate.accounts:
        regions = {name: region for name, region in account.regions.items() if region.threat_findings}
        if regions:
            session = session_of(account)
            for name, region in regions.items():
                plant_threat_findings(at(session, account, name), region.threat_findings, now=now)
    # What runs on the container clusters last too: ECS Fargate services, EKS node groups and Fargate profiles.
    for account in estate.accounts:
        regions = {name: region for name, region in account.regions.items() if _runs_workloads(region)}
        if regions:
            session = session_of(account)
            for name, region in regions.items():
                plant_workloads(at(session, account, name), region, estate.conventions)
    return planted


def _runs_workloads(region: Region) -> bool:
    return bool(region.ecs_services) or any(c.nodegroup or c.fargate_profile for c in region.eks_clusters)


def plant_workloads(target: Target, region: Region, conventions: Conventions) -> None:
    """The region's ECS Fargate services (in its first subnet, under that VPC's default security group; the
    service's launch type is what the inventory reads, and moto starts no task in VPCs without DNS hostnames, as
    the estate's are) and what hosts its EKS clusters' pods, each with the role its hosts assume."""
    if region.ecs_services:
        ec2 = target.client("ec2")
        subnet = ec2.describe_subnets()["Subnets"][0]
        default = [
            {"Name": "vpc-id", "Values": [subnet["VpcId"]]},
            {"Name": "group-name", "Values": ["default"]},
        ]
        group = ec2.describe_security_groups(Filters=default)["SecurityGroups"][0]["GroupId"]
        for service in region.ecs_services:
            plant_fargate_service(
                target,
                service.cluster,
                service.name,
                subnets=[subnet["SubnetId"]],
                security_groups=[group],
                run_task=False,
            )
    roles = ServiceRoles(target)
    for cluster in region.eks_clusters:
        if cluster.nodegroup:
            nodes = roles.arn(conventions.eks_node_role, "ec2.amazonaws.com")
            plant_eks_hosting(target, cluster.name, role_arn=nodes, nodegroup=cluster.nodegroup)
        if cluster.fargate_profile:
            pods = roles.arn(conventions.eks_pod_role, "eks-fargate-pods.amazonaws.com")
            plant_eks_hosting(target, cluster.name, role_arn=pods, fargate_profile=cluster.fargate_profile)


def plant_account(target: Target, account: Account, estate: Estate, password: str) -> None:
    """IAM and account settings, S3, then every region of the estate (in the estate's order)."""
    if account.password_policy is not None:
        plant_password_policy(target, account.password_policy)
    if account.security_contact is not None:
        plant_security_contact(target, account.security_contact)
    arns = {policy.name: plant_policy(target, policy) for policy in account.policies}
    for role in account.roles:
        plant_role(target, role, arns)
    for user in account.users:
        plant_user(target, user, password=password, policy_arns=arns)
    if account.block_public_access:
        plant_account_public_access_block(target)
    for bucket in account.buckets:
        plant_bucket(target, bucket)
    for region in estate.regions:
        plant_region(target.at(region), account.regions.get(region) or Region(), estate, password)


def plant_region(target: Target, region: Region, estate: Estate, password: str) -> None:
    """Account-wide regional settings and detection first, then logging, networks, compute and data stores; then
    the families added later (Inspector, ECR, EFS, Lambda permissions; detached volumes with their snapshots,
    secrets), after the others so their ids hold."""
    conventions = estate.conventions
    if not region.keep_default_vpc:
        delete_default_vpcs(target)
    if region.ebs_encryption_by_default:
        enable_ebs_encryption_by_default(target)
    keys = {key.alias: plant_key(target, key) for key in region.keys}
    if region.config_recorder:
        plant_config_recorder(target, bucket=estate.config_bucket)
    if region.guardduty != "absent":
        plant_guardduty(target, enabled=region.guardduty == "enabled", protection=region.guardduty_protection)
    if region.security_hub:
        plant_security_hub(target)
    if not region.macie:
        disable_macie(target)
    for group in region.log_groups:
        plant_log_group(target, group)
    roles = ServiceRoles(target)
    for trail in region.trails:
        delivery = (
            {
                "log_group_arn": log_group_arn(target, trail.log_group),
                "logs_role_arn": roles.arn(conventions.trail_logs_role, "cloudtrail.amazonaws.com"),
            }
            if trail.log_group
            else {}
        )
        plant_trail(target, trail, kms_key_arn=keys[trail.kms_key] if trail.kms_key else None, **delivery)
        if trail.log_group and trail.alarms:
            plant_security_alarms(target, trail.log_group, conventions.alarms)
    for network in region.vpcs:
        plant_network(target, network, region, keys=keys, password=password, username=conventions.database_admin)
    for function in region.functions:
        plant_function(target, function, role_arn=roles.arn(conventions.lambda_role, "lambda.amazonaws.com"))
    for table in region.dynamodb_tables:
        plant_table(target, table, kms_key_arn=keys[table.kms_key] if table.kms_key else None)
    for cluster in region.ecs_clusters:
        plant_ecs_cluster(target, cluster)
    for cluster in region.eks_clusters:
        subnets = [s["SubnetId"] for s in target.client("ec2").describe_subnets()["Subnets"]][:2]
        plant_eks_cluster(
            target, cluster, role_arn=roles.arn(conventions.eks_role, "eks.amazonaws.com"), subnets=subnets
        )
    for plan in region.backup_plans:
        plant_backup_plan(target, plan)
    # Appended after the families above, so the ids moto drew for them stay what they were.
    if region.inspector is not None:
        plant_inspector(target, region.inspector)
    if region.ecr_scanning is not None:
        plant_registry_scanning(target, region.ecr_scanning)
    for repository in region.ecr_repositories:
        plant_repository(target, repository)
    for file_system in region.efs_file_systems:
        plant_file_system(target, file_system, kms_key_arn=keys[file_system.kms_key] if file_system.kms_key else None)
    for function in region.functions:
        plant_permissions(target, function)
    for volume in region.volumes:
        plant_volume(target, volume)
    for secret in region.secrets:
        plant_secret(target, secret, value=password)


def plant_network(
    target: Target, network: Network, region: Region, *, keys: dict[str | None, str], password: str, username: str
) -> None:
    """The VPC, its security groups, instances, databases (in a subnet group, TLS-only parameter groups) and load
    balancers."""
    vpc = plant_vpc(target, network)
    groups = {group.name: plant_security_group(target, group, vpc.id) for group in network.security_groups}
    for instance in network.instances:
        plant_instances(
            target,
            instance,
            subnet_id=vpc.subnets[0],
            security_group_id=groups[instance.security_group] if instance.security_group else None,
            encrypted_root=region.ebs_encryption_by_default,
        )
    subnet_group = (
        plant_subnet_group(target, f"{network.name}-databases", vpc.subnets, description=f"{network.name} databases")
        if network.databases
        else None
    )
    for database in network.databases:
        plant_database(
            target,
            database,
            username=username,
            password=password,
            parameter_group=(
                plant_tls_parameter_group(target, f"{network.name}-{database.engine}-tls", database.engine)
                if database.tls_required
                else None
            ),
            subnet_group=subnet_group,
            security_group_id=groups[database.security_group] if database.security_group else None,
            kms_key_arn=keys[database.kms_key] if database.kms_key else None,
        )
    for balancer in network.load_balancers:
        plant_load_balancer(
            target,
            balancer,
            vpc_id=vpc.id,
            subnets=vpc.subnets,
            security_group_id=groups[balancer.security_group] if balancer.security_group else None,
        )
