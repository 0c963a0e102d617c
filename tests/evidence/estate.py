"""A scenario estate built in moto: an Organization (management + two members), two regions, and for every
check at least one passing and one failing resource. Works against in-process `mock_aws` and `moto_server`
(point the base session at it).

The resources are planted with the estate builder the demo uses (`auditpack.estate`); what only tests do stays
here: every planted secret is `CANARY` (it must never reach the evidence store), resources the tests name by id
are recorded in `Estate.ids`, and facts AWS offers no API for (root MFA, old keys) are set on moto's in-process
backends (`_backdate`), so they exist only in-process.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import boto3

from auditpack.estate.backup import BackupPlan, plant_backup_plan
from auditpack.estate.cloudtrail import Trail, plant_trail
from auditpack.estate.containers import (
    EksCluster,
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
    Egress,
    Ingress,
    Instance,
    SecurityGroup,
    Snapshot,
    Volume,
    Vpc,
    default_vpc,
    enable_ebs_encryption_by_default,
    plant_instances,
    plant_security_group,
    plant_snapshot,
    plant_volume,
    plant_vpc,
)
from auditpack.estate.ecr import Repository, plant_repository
from auditpack.estate.efs import FileSystem, plant_file_system
from auditpack.estate.elb import AccessLogs, LoadBalancer, plant_load_balancer
from auditpack.estate.iam import (
    AccessKey,
    PermissionSet,
    Policy,
    Role,
    SecurityContact,
    User,
    plant_password_policy,
    plant_permission_set,
    plant_policy,
    plant_role,
    plant_security_contact,
    plant_user,
)
from auditpack.estate.inspector import CriticalFinding, Inspector, finding_document, plant_inspector
from auditpack.estate.kms import Key, plant_key
from auditpack.estate.lambda_ import Function, Permission, plant_function, plant_permissions
from auditpack.estate.logs import LogGroup, SecurityAlarms, log_group_arn, plant_log_group, plant_security_alarms
from auditpack.estate.organization import Member, plant_organization
from auditpack.estate.rds import (
    Cluster,
    Database,
    DbSnapshot,
    plant_database,
    plant_db_cluster,
    plant_tls_parameter_group,
)
from auditpack.estate.route53 import AddressRecord, HostedZone, MailDomain, plant_hosted_zone
from auditpack.estate.s3 import Bucket, plant_account_public_access_block, plant_bucket
from auditpack.estate.secrets import Secret, plant_secret
from auditpack.estate.target import ServiceRoles, Target, member_session
from core.clock import utcnow

CANARY = "canary-7f3c9e21-do-not-store"
REGIONS = ("us-east-1", "eu-west-1")
STRONG_POLICY = {
    "MinimumPasswordLength": 16,
    "RequireSymbols": True,
    "RequireNumbers": True,
    "RequireUppercaseCharacters": True,
    "RequireLowercaseCharacters": True,
    "PasswordReusePrevention": 24,
    "MaxPasswordAge": 90,
}
ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
READ = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
CONSOLE_PASSWORD = "Correct-Horse-9!"
ALARMS = SecurityAlarms(namespace="Security", topic="security")
MAIL_EXCHANGER = ("10 inbound-smtp.us-east-1.amazonaws.com",)
# Buckets with nothing configured: no default encryption, policy, public access block or versioning.
PLAIN = {"encryption": None, "tls_only": False, "block_public_access": False, "versioning": False}


@dataclass
class Estate:
    management: str
    member_a: str
    member_b: str
    regions: tuple[str, ...] = REGIONS
    ids: dict[str, str] = field(default_factory=dict)  # notable resource ids by a short name

    @property
    def accounts(self) -> tuple[str, str, str]:
        return (self.management, self.member_a, self.member_b)


def build_estate(base: boto3.Session, *, in_process: bool = True) -> Estate:
    management, (a, b) = plant_organization(
        base, [Member(name="member-a", email="a@example.com"), Member(name="member-b", email="b@example.com")]
    )
    estate = Estate(management=management, member_a=a, member_b=b)
    _management(Target(base, management, REGIONS[0]), estate)
    _member_a(Target(member_session(base, a), a, REGIONS[0]), estate)
    _member_b(Target(member_session(base, b), b, REGIONS[0]), estate)
    # Route 53 last (moto draws zone ids): a public zone with public addresses only and mail under SPF and DMARC
    # reject; one leaking a private address, whose DMARC policy only reports (p=none)
    estate.ids["public_zone"] = plant_hosted_zone(
        Target(base, management, REGIONS[0]),
        HostedZone(
            name="shop.example.com",
            records=(AddressRecord(name="www.shop.example.com", value="203.0.113.8"),),
            mail=(MailDomain(name="shop.example.com", mx=MAIL_EXCHANGER),),
        ),
    )
    estate.ids["leaky_zone"] = plant_hosted_zone(
        Target(member_session(base, a), a, REGIONS[0]),
        HostedZone(
            name="member-a.example.com",
            records=(
                AddressRecord(name="app.member-a.example.com", value="203.0.113.9"),
                AddressRecord(name="db.member-a.example.com", value="172.31.5.20"),
            ),
            mail=(
                MailDomain(
                    name="member-a.example.com",
                    mx=MAIL_EXCHANGER,
                    spf="v=spf1 include:amazonses.com ~all",
                    dmarc="v=DMARC1; p=none; rua=mailto:dmarc@member-a.example.com",
                ),
            ),
        ),
    )
    # Security Hub's threat findings last too (after everything whose ids moto draws)
    _threat_findings(Target(base, management, REGIONS[0]), estate)
    if in_process:
        _backdate(estate)
    return estate


def _threat_findings(east: Target, estate: Estate) -> None:
    """What GuardDuty sent management's Security Hub in us-east-1: an SSH brute force nobody has looked at for 10
    days (fails), a port probe from yesterday (within the limit), an old one resolved, a low-severity one (not
    judged) and a configuration finding (not a threat)."""
    instance = f"arn:aws:ec2:{east.region}:{east.account_id}:instance/{estate.ids['running_instance']}"
    findings = (
        ThreatFinding(
            type="TTPs/Initial Access/UnauthorizedAccess:EC2-SSHBruteForce",
            title="SSH brute force attacks against the web instance",
            resource=instance,
            days_old=10,
            workflow="NEW",
        ),
        ThreatFinding(
            type="TTPs/Discovery/Recon:EC2-PortProbeUnprotectedPort",
            title="Unprotected port on the web instance is being probed",
            resource=instance,
            days_old=1,
            workflow="NEW",
        ),
        ThreatFinding(
            type="Effects/Resource Consumption/CryptoCurrency:EC2-BitcoinTool.B!DNS",
            title="The web instance queried a bitcoin-related domain",
            resource=instance,
            days_old=40,
        ),
        ThreatFinding(
            type="Unusual Behaviors/User/Discovery:IAMUser-AnomalousBehavior",
            title="An unusual API was called by bob",
            resource=f"arn:aws:iam::{east.account_id}:user/bob",
            resource_type="AwsIamUser",
            severity="LOW",
            days_old=30,
            workflow="NEW",
        ),
        ThreatFinding(
            type="Software and Configuration Checks/Policy:S3-BucketBlockPublicAccessDisabled",
            title="Block public access was disabled for plain-bucket",
            resource="arn:aws:s3:::plain-bucket",
            resource_type="AwsS3Bucket",
            days_old=30,
            workflow="NEW",
        ),
    )
    ids = plant_threat_findings(east, findings, now=utcnow())
    for name, finding_id in zip(("stale", "fresh", "resolved", "low", "config"), ids, strict=True):
        estate.ids[f"{name}_threat"] = finding_id


def _management(east: Target, estate: Estate) -> None:
    west = east.at(REGIONS[1])
    _identity(east, estate)
    # access-logs: where secure-bucket's server access logs go (classified internal: SSE-S3, as S3 requires of a
    # log target); it keeps them forever. trail-logs expires what the trail, flow logs and shop-lb write to it.
    plant_bucket(
        east,
        Bucket(
            name="access-logs", region=east.region, encryption="AES256", classification="internal", log_delivery=True
        ),
    )
    plant_bucket(
        east,
        Bucket(
            name="secure-bucket",
            region=east.region,
            encryption="aws:kms",
            kms_key="org-data",
            owner="storage-team",
            classification="confidential",
            tags={"api_token": CANARY},
            access_logs_to="access-logs",
        ),
    )
    # ePHI under SSE-S3 and without request logging.
    plant_bucket(east, Bucket(name="phi-exports", region=east.region, encryption="AES256", classification="ephi"))
    plant_bucket(east, Bucket(name="plain-bucket", region=west.region, **PLAIN))
    plant_bucket(east, Bucket(name="trail-logs", region=east.region, **PLAIN, expire_days=400))

    rotated = plant_key(east, Key(alias="org-data", description="rotated", rotation=True, owner="crypto-team"))
    estate.ids["rotated_key"] = rotated
    estate.ids["unrotated_key"] = plant_key(east, Key(alias=None, description="not rotated", rotation=False))
    estate.ids["imported_key"] = plant_key(
        east, Key(alias=None, description="imported material", rotation=False, origin="EXTERNAL")
    )

    plant_log_group(east, LogGroup(name="/trail/org-trail"))
    estate.ids["good_trail"] = plant_trail(
        east,
        Trail(name="org-trail", bucket="trail-logs", log_group="/trail/org-trail"),
        kms_key_arn=rotated,
        log_group_arn=log_group_arn(east, "/trail/org-trail"),
        logs_role_arn=f"arn:aws:iam::{estate.management}:role/cloudtrail-to-logs",  # never created
    )
    plant_security_alarms(east, "/trail/org-trail", ALARMS)
    plant_config_recorder(
        east, bucket="trail-logs", role_arn=f"arn:aws:iam::{estate.management}:role/config", global_resources=False
    )
    _network(east, estate)
    _databases(east)
    for group in (
        LogGroup(name="/app/audit", retention_days=400, owner="audit-team"),
        LogGroup(name="/app/debug", retention_days=30),
        LogGroup(name="/app/forever"),
    ):
        plant_log_group(east, group)
    plant_guardduty(east)
    plant_security_hub(east)
    disable_macie(west)
    plant_guardduty(west, enabled=False, protection=False)

    role = plant_role(east, Role(name="lambda-exec", service="lambda.amazonaws.com"))
    secrets = {
        "api": ("python3.12", ("DB_PASSWORD_SECRET_ARN", "STAGE")),  # a reference to Secrets Manager
        "legacy-job": ("python3.8", ("DB_PASSWORD", "API_TOKEN", "STAGE")),  # the secrets themselves
    }
    for name, (runtime, variables) in secrets.items():
        function = Function(name=name, runtime=runtime, owner="api-team", environment=dict.fromkeys(variables, CANARY))
        plant_function(east, function, role_arn=role)
    plant_table(east, Table(name="sessions", point_in_time_recovery=False, sse_kms=False))
    plant_table(east, Table(name="orders", sse_kms=False, tags={"data-classification": "ephi"}))
    plant_table(east, Table(name="claims", classification="ephi", kms_key="org-data"), kms_key_arn=rotated)
    estate.ids["rotating_secret"] = plant_secret(east, Secret(name="db/orders", rotation_days=30), value=CANARY)
    estate.ids["static_secret"] = plant_secret(east, Secret(name="partner/api-key", rotation_days=None), value=CANARY)
    _load_balancers(east, estate)
    _containers(west)
    plant_backup_plan(east, BackupPlan(name="daily", schedule="cron(0 5 ? * * *)"))
    # Identity Center reaches the management account, but alice and bob still sign in as IAM users; its
    # administrators' sessions last a whole working day (iam.human_session_duration_bounded fails).
    plant_permission_set(east, PermissionSet(name="AdministratorAccess", session_hours=12))
    _vulnerabilities_and_containers(east, estate)
    # shared-files: encrypted, automatic backups. scratch-files (eu-west-1, where no backup plan exists): neither.
    estate.ids["shared_files"] = plant_file_system(east, FileSystem(name="shared-files", owner="storage-team"))
    estate.ids["scratch_files"] = plant_file_system(
        west, FileSystem(name="scratch-files", encrypted=False, automatic_backups=False)
    )
    # legacy-job may be invoked by anyone; api keeps no resource policy at all.
    public = Function(name="legacy-job", runtime="python3.8", permissions=(Permission(sid="anyone", principal="*"),))
    plant_permissions(east, public)


# Open critical Inspector findings in the management account's us-east-1 (planted by _backdate: only Inspector's
# scans make findings): one open past the 30-day limit, one within it.
CRITICAL_FINDINGS = (
    CriticalFinding(
        vulnerability="CVE-2023-50782",
        package="cryptography",
        version="3.3.2",
        fixed_in="42.0.0",
        function="legacy-job",
        days_open=45,
    ),
    CriticalFinding(
        vulnerability="CVE-2024-6345",
        package="setuptools",
        version="65.5.0",
        fixed_in="70.0.0",
        function="api",
        days_open=3,
    ),
)


def _vulnerabilities_and_containers(east: Target, estate: Estate) -> None:
    """Inspector scans everything in us-east-1 and EC2 only in eu-west-1 (members: never enabled). ECR: web scans
    on push, batch does not. EKS: prod is private and logs every type; dev is open to the internet, logs api only."""
    plant_inspector(east, Inspector())
    plant_inspector(east.at(REGIONS[1]), Inspector(scans=("EC2",)))
    estate.ids["scanned_repository"] = plant_repository(east, Repository(name="web"))
    estate.ids["unscanned_repository"] = plant_repository(east, Repository(name="batch", scan_on_push=False))
    role = ServiceRoles(east).arn("eks-cluster", "eks.amazonaws.com")
    subnets = default_vpc(east).subnets[:2]
    plant_eks_cluster(east, EksCluster(name="prod"), role_arn=role, subnets=subnets)
    dev = EksCluster(name="dev", log_types=("api",), public_access_cidrs=("0.0.0.0/0",))
    plant_eks_cluster(east, dev, role_arn=role, subnets=subnets)


def _containers(west: Target) -> None:
    """ECS 'batch' runs a Fargate service and task; EKS 'platform' has a managed node group and a Fargate profile,
    so the inventory's hosting reads (launch types, node groups, Fargate profiles) all run."""
    plant_ecs_cluster(west, "batch")
    plant_fargate_service(west, "batch", "report")
    role = f"arn:aws:iam::{west.account_id}:role/eks-platform"
    subnets = [west.client("ec2").describe_subnets()["Subnets"][0]["SubnetId"]]
    plant_eks_cluster(west, EksCluster(name="platform"), role_arn=role, subnets=subnets)
    plant_eks_hosting(west, "platform", role_arn=role, nodegroup="general", fargate_profile="jobs")


def _identity(target: Target, estate: Estate) -> None:
    plant_password_policy(target, STRONG_POLICY)
    plant_security_contact(
        target, SecurityContact(name="Security team", title="CISO", email="security@example.com", phone="+1-555-0100")
    )
    arns = {
        name: plant_policy(target, Policy(name=name, document=document))
        for name, document in (("AdminEverything", ADMIN), ("ReadObjects", READ), ("UnusedAdmin", ADMIN))
    }
    estate.ids.update(
        admin_policy=arns["AdminEverything"], read_policy=arns["ReadObjects"], unused_admin=arns["UnusedAdmin"]
    )
    tags = {"Team": "identity", "password": CANARY}
    for user in (
        User(name="alice", tags=tags, console=True, mfa=True),
        # bob also holds an access key: a console password on a user software uses (iam.service_users_without_console)
        User(name="bob", tags=tags, console=True, policies=("AdminEverything",), access_keys=(AccessKey(),)),
        User(name="ci-bot", access_keys=(AccessKey(),), policies=("ReadObjects",)),
        User(name="old-deployer", access_keys=(AccessKey(),)),
    ):
        plant_user(target, user, password=CONSOLE_PASSWORD, policy_arns=arns)


def _network(east: Target, estate: Estate) -> None:
    enable_ebs_encryption_by_default(east)
    estate.ids["encrypted_volume"] = plant_volume(east, Volume(encrypted=True))
    estate.ids["plain_volume"] = plant_volume(east, Volume())
    estate.ids["private_snapshot"] = plant_snapshot(east, estate.ids["encrypted_volume"], Snapshot())
    estate.ids["public_snapshot"] = plant_snapshot(east, estate.ids["plain_volume"], Snapshot(public=True))
    vpc = plant_vpc(east, Vpc(name="logged-vpc", cidr="10.10.0.0/16", flow_logs_to="trail-logs", subnet_zones=()))
    estate.ids["logged_vpc"] = vpc.id
    estate.ids["open_sg"] = plant_security_group(
        east, SecurityGroup(name="ssh-open", description="ssh from anywhere", ingress=(Ingress(port=22),)), vpc.id
    )
    estate.ids["web_sg"] = plant_security_group(
        east, SecurityGroup(name="web", description="https", ingress=(Ingress(port=443),)), vpc.id
    )
    # Two instances in the default VPC: one keeps running with IMDSv1 allowed, one is stopped with IMDSv2.
    web = Instance(
        name="web", count=2, imdsv2=False, root_volume_gb=None, owner="web-team", tags={"db_password": CANARY}
    )
    estate.ids["running_instance"], estate.ids["stopped_instance"] = plant_instances(east, web)
    ec2 = east.client("ec2")
    ec2.stop_instances(InstanceIds=[estate.ids["stopped_instance"]])
    ec2.modify_instance_metadata_options(InstanceId=estate.ids["stopped_instance"], HttpTokens="required")
    # the running one was once tried as a NAT instance: its source/destination check is still off
    ec2.modify_instance_attribute(InstanceId=estate.ids["running_instance"], SourceDestCheck={"Value": False})
    # The default group both use lets all traffic out; the stopped one also gets a group allowing HTTPS out only.
    default_vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    estate.ids["egress_sg"] = plant_security_group(
        east, SecurityGroup(name="https-out", description="https out", egress=(Egress(port=443),)), default_vpc
    )
    ec2.modify_instance_attribute(InstanceId=estate.ids["stopped_instance"], Groups=[estate.ids["egress_sg"]])


def _databases(east: Target) -> None:
    secret = {"username": "admin", "password": CANARY}
    small = {"instance_class": "db.t3.micro", "storage_gb": 20}
    orders = Database(
        id="orders-db",
        engine="postgres",
        backup_retention_days=14,
        max_storage_gb=100,
        owner="orders-team",
        classification="cardholder",
        log_exports=("postgresql",),
        snapshots=(DbSnapshot(name="orders-db-manual"),),
        **small,
    )
    plant_database(east, orders, parameter_group=plant_tls_parameter_group(east, "postgres-tls", "postgres"), **secret)
    legacy = Database(
        id="legacy-db",
        engine="mysql",
        storage_encrypted=False,
        public=True,
        backup_retention_days=1,
        auto_minor_version_upgrade=False,
        multi_az=False,
        deletion_protection=False,
        max_storage_gb=None,
        tls_required=False,
        snapshots=(DbSnapshot(name="legacy-db-export", public=True),),
        **small,
    )
    plant_database(east, legacy, **secret)
    ledger = Cluster(id="ledger", log_exports=("postgresql",), snapshots=(DbSnapshot(name="ledger-manual"),))
    plant_db_cluster(east, ledger, **secret)


def _load_balancers(east: Target, estate: Estate) -> None:
    """shop-lb: TLS 1.2+ only, HTTP redirected, behind WAF, certificate valid a year, access logs to trail-logs.
    legacy-lb: TLS 1.0 allowed, plain HTTP served, no WAF, certificate expiring in 5 days, access logging off.
    internal-lb: internal (WAF not applicable), access logs to trail-logs."""
    vpc = default_vpc(east)
    logged = AccessLogs(bucket="trail-logs", prefix="elb")
    for balancer in (
        LoadBalancer(name="shop-lb", domain="shop.example.com", certificate_days=365, waf=True, access_logs=logged),
        LoadBalancer(
            name="legacy-lb",
            domain="legacy.example.com",
            certificate_days=5,
            tls_policy="ELBSecurityPolicy-2016-08",
            http_served=True,
            access_logs=AccessLogs(bucket=None),
        ),
        LoadBalancer(name="internal-lb", internal=True, access_logs=logged),
    ):
        planted = plant_load_balancer(east, balancer, vpc_id=vpc.id, subnets=vpc.subnets[:2])
        named: Mapping[str, str | None] = {
            balancer.name: planted.arn,
            f"{balancer.name}-https": planted.https_listener,
            f"{balancer.name}-http": planted.http_listener,
            f"{balancer.name}-cert": planted.certificate_arn,
        }
        estate.ids.update({name: value for name, value in named.items() if value is not None})


def _member_a(east: Target, estate: Estate) -> None:
    west = east.at(REGIONS[1])
    plant_password_policy(east, {"MinimumPasswordLength": 8, "RequireNumbers": True})
    plant_account_public_access_block(east)
    plant_bucket(east, Bucket(name="member-a-data", region=west.region, **PLAIN))
    plant_bucket(east, Bucket(name="member-a-trail", region=west.region, **PLAIN))
    # Single-region, no log file validation, no event selectors, no CloudWatch Logs delivery.
    weak = Trail(
        name="local-trail",
        bucket="member-a-trail",
        multi_region=False,
        log_validation=False,
        management_events=False,
        s3_data_events=False,
    )
    estate.ids["weak_trail"] = plant_trail(west, weak)
    database = Database(
        id="member-a-db",
        engine="postgres",
        instance_class="db.t3.micro",
        storage_gb=20,
        multi_az=False,
        deletion_protection=False,
        max_storage_gb=None,
        tls_required=False,
    )
    plant_database(west, database, username="admin", password=CANARY)
    # People reach member A only through Identity Center (it has no IAM users); member B it does not reach.
    plant_permission_set(east, PermissionSet(name="ReadOnly"))


def _member_b(east: Target, estate: Estate) -> None:
    plant_bucket(east, Bucket(name="member-b-scratch", region=east.region, **PLAIN))
    plant_guardduty(east, protection=False)  # no malware or runtime features
    # management is the delegated GuardDuty administrator in us-east-1 (member B names it); eu-west-1's detector
    # in management stays standalone
    plant_guardduty_administrator(east, administrator=estate.management)


def _backdate(estate: Estate) -> None:
    """Facts with no AWS API: root MFA (set in the console), old credentials (time passing) and the findings of
    Inspector's scans (moto answers ListFindings from a queue its backend holds)."""
    from moto.iam.models import AccessKeyLastUsed, iam_backends
    from moto.inspector2.models import inspector2_backends

    now = utcnow()
    management = iam_backends[estate.management]["global"]
    management.account_summary._account_mfa_enabled = 1
    iam_backends[estate.member_b]["global"].account_summary._account_access_keys_present = 1
    fresh = management.get_user("ci-bot").access_keys[0]
    fresh.last_used = AccessKeyLastUsed(now - timedelta(days=2), "s3", "us-east-1")
    old = management.get_user("old-deployer").access_keys[0]
    old.create_date = now - timedelta(days=200)
    old.last_used = AccessKeyLastUsed(now - timedelta(days=150), "s3", "us-east-1")
    management.get_user("alice").password_last_used = now - timedelta(days=1)
    documents = [finding_document(estate.management, REGIONS[0], f, now=now) for f in CRITICAL_FINDINGS]
    inspector2_backends[estate.management][REGIONS[0]].findings_queue.append(documents)
    estate.ids["stale_finding"], estate.ids["fresh_finding"] = (d["findingArn"] for d in documents)
