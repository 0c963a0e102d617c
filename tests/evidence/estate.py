"""A scenario estate built in moto: an Organization (management + two members), two regions, and for every
check at least one passing and one failing resource. Works against in-process `mock_aws` and `moto_server`
(point the base session at it); facts AWS offers no API for (root MFA, old keys) are set on moto's in-process
backends, so they exist only in-process.

Every planted secret is `CANARY`: it must never reach the evidence store.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import timedelta

import boto3

from evidence.aws.session import fix_s3control_host
from kernel.clock import utcnow

CANARY = "canary-7f3c9e21-do-not-store"
REGIONS = ("us-east-1", "eu-west-1")
ROLE = "OrganizationAccountAccessRole"
STRONG_POLICY = {
    "MinimumPasswordLength": 16,
    "RequireSymbols": True,
    "RequireNumbers": True,
    "RequireUppercaseCharacters": True,
    "RequireLowercaseCharacters": True,
    "PasswordReusePrevention": 24,
    "MaxPasswordAge": 90,
}
ALL_MANAGEMENT = [{"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": []}]
ALL_S3_OBJECTS = [
    {
        "ReadWriteType": "All",
        "IncludeManagementEvents": False,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}],
    }
]
# The CIS AWS Foundations Benchmark's metric filter patterns, as an administrator would paste them.
CIS_PATTERNS = {
    "Unauthorized": '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }',
    "NoMfaSignIn": '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }',
    "RootUsage": '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
    '&& $.eventType != "AwsServiceEvent" }',
    "IamPolicy": "{($.eventName=DeleteGroupPolicy)||($.eventName=DeleteRolePolicy)||($.eventName=PutGroupPolicy)||"
    "($.eventName=PutRolePolicy)||($.eventName=PutUserPolicy)||($.eventName=CreatePolicy)||($.eventName=DeletePolicy)||"
    "($.eventName=CreatePolicyVersion)||($.eventName=DeletePolicyVersion)||($.eventName=AttachRolePolicy)||"
    "($.eventName=DetachRolePolicy)||($.eventName=AttachUserPolicy)||($.eventName=DetachUserPolicy)}",
    "Trail": "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || "
    "($.eventName = StartLogging) || ($.eventName = StopLogging) }",
    "SignInFailures": '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }',
    "Kms": "{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion))}",
    "BucketPolicy": "{ ($.eventSource = s3.amazonaws.com) && (($.eventName = PutBucketAcl) || "
    "($.eventName = PutBucketPolicy) || ($.eventName = DeleteBucketPolicy)) }",
    "Config": "{ ($.eventSource = config.amazonaws.com) && (($.eventName=StopConfigurationRecorder)||"
    "($.eventName=DeleteDeliveryChannel)||($.eventName=PutDeliveryChannel)||($.eventName=PutConfigurationRecorder)) }",
    "SecurityGroups": "{ ($.eventName = AuthorizeSecurityGroupIngress) || "
    "($.eventName = AuthorizeSecurityGroupEgress) || "
    "($.eventName = RevokeSecurityGroupIngress) || ($.eventName = RevokeSecurityGroupEgress) }",
    "Nacl": "{ ($.eventName = CreateNetworkAcl) || ($.eventName = CreateNetworkAclEntry) || "
    "($.eventName = DeleteNetworkAcl) || ($.eventName = DeleteNetworkAclEntry) || "
    "($.eventName = ReplaceNetworkAclEntry) }",
    "Gateways": "{ ($.eventName = CreateCustomerGateway) || ($.eventName = DeleteCustomerGateway) || "
    "($.eventName = AttachInternetGateway) || ($.eventName = DeleteInternetGateway) }",
    "Routes": "{ ($.eventName = CreateRoute) || ($.eventName = ReplaceRoute) || ($.eventName = DeleteRoute) }",
    "Vpc": "{ ($.eventName = CreateVpc) || ($.eventName = DeleteVpc) || ($.eventName = ModifyVpcAttribute) }",
    "Organizations": "{ ($.eventSource = organizations.amazonaws.com) && ($.eventName = CreateAccount) }",
}


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


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return event\n")
    return buffer.getvalue()


def member_session(base: boto3.Session, account_id: str) -> boto3.Session:
    creds = base.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/{ROLE}", RoleSessionName="estate")[
        "Credentials"
    ]
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=base.region_name,
    )


def build_estate(base: boto3.Session, *, in_process: bool = True) -> Estate:
    org = base.client("organizations")
    org.create_organization(FeatureSet="ALL")
    management = base.client("sts").get_caller_identity()["Account"]
    a = org.create_account(Email="a@example.com", AccountName="member-a")["CreateAccountStatus"]["AccountId"]
    b = org.create_account(Email="b@example.com", AccountName="member-b")["CreateAccountStatus"]["AccountId"]
    estate = Estate(management=management, member_a=a, member_b=b)
    _management(base, estate)
    _member_a(member_session(base, a), estate)
    _member_b(member_session(base, b), estate)
    if in_process:
        _backdate(estate)
    return estate


def _management(s: boto3.Session, estate: Estate) -> None:
    east, west = REGIONS
    iam = s.client("iam")
    iam.update_account_password_policy(**STRONG_POLICY)
    s.client("account", region_name=east).put_alternate_contact(
        AlternateContactType="SECURITY",
        Name="Security team",
        Title="CISO",
        EmailAddress="security@example.com",
        PhoneNumber="+1-555-0100",
    )
    for user in ("alice", "bob"):
        iam.create_user(
            UserName=user, Tags=[{"Key": "Team", "Value": "identity"}, {"Key": "password", "Value": CANARY}]
        )
        iam.create_login_profile(UserName=user, Password="Correct-Horse-9!")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice")["VirtualMFADevice"]
    iam.enable_mfa_device(
        UserName="alice",
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
    for user in ("ci-bot", "old-deployer"):
        iam.create_user(UserName=user)
        iam.create_access_key(UserName=user)
    admin = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    read = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    admin_arn = iam.create_policy(PolicyName="AdminEverything", PolicyDocument=json.dumps(admin))["Policy"]["Arn"]
    read_arn = iam.create_policy(PolicyName="ReadObjects", PolicyDocument=json.dumps(read))["Policy"]["Arn"]
    estate.ids["unused_admin"] = iam.create_policy(PolicyName="UnusedAdmin", PolicyDocument=json.dumps(admin))[
        "Policy"
    ]["Arn"]
    iam.attach_user_policy(UserName="bob", PolicyArn=admin_arn)
    iam.attach_user_policy(UserName="ci-bot", PolicyArn=read_arn)
    estate.ids.update(admin_policy=admin_arn, read_policy=read_arn)

    s3 = s.client("s3", region_name=east)
    s3.create_bucket(Bucket="secure-bucket")
    s3.put_bucket_encryption(
        Bucket="secure-bucket",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TlsOnly",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": ["arn:aws:s3:::secure-bucket", "arn:aws:s3:::secure-bucket/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
    s3.put_bucket_policy(Bucket="secure-bucket", Policy=json.dumps(deny))
    s3.put_public_access_block(
        Bucket="secure-bucket",
        PublicAccessBlockConfiguration=dict.fromkeys(
            ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
        ),
    )
    s3.put_bucket_versioning(Bucket="secure-bucket", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_tagging(
        Bucket="secure-bucket",
        Tagging={
            "TagSet": [
                {"Key": "Owner", "Value": "storage-team"},
                {"Key": "api_token", "Value": CANARY},
                {"Key": "DataClassification", "Value": "confidential"},
            ]
        },
    )
    s.client("s3", region_name=west).create_bucket(
        Bucket="plain-bucket", CreateBucketConfiguration={"LocationConstraint": west}
    )
    s3.create_bucket(Bucket="trail-logs")

    kms = s.client("kms", region_name=east)
    rotated = kms.create_key(Description="rotated", Tags=[{"TagKey": "Owner", "TagValue": "crypto-team"}])[
        "KeyMetadata"
    ]
    kms.enable_key_rotation(KeyId=rotated["KeyId"])
    estate.ids["rotated_key"] = rotated["Arn"]
    estate.ids["unrotated_key"] = kms.create_key(Description="not rotated")["KeyMetadata"]["Arn"]
    estate.ids["imported_key"] = kms.create_key(Description="imported material", Origin="EXTERNAL")["KeyMetadata"][
        "Arn"
    ]

    logs = s.client("logs", region_name=east)
    logs.create_log_group(logGroupName="/trail/org-trail")
    trail_group = logs.describe_log_groups(logGroupNamePrefix="/trail/org-trail")["logGroups"][0]["arn"]
    cloudtrail = s.client("cloudtrail", region_name=east)
    trail = cloudtrail.create_trail(
        Name="org-trail",
        S3BucketName="trail-logs",
        IsMultiRegionTrail=True,
        EnableLogFileValidation=True,
        KmsKeyId=rotated["Arn"],
        CloudWatchLogsLogGroupArn=trail_group,
        CloudWatchLogsRoleArn=f"arn:aws:iam::{estate.management}:role/cloudtrail-to-logs",
    )
    cloudtrail.put_event_selectors(TrailName="org-trail", EventSelectors=ALL_MANAGEMENT + ALL_S3_OBJECTS)
    _security_alarms(s, "/trail/org-trail")
    cloudtrail.start_logging(Name="org-trail")
    estate.ids["good_trail"] = trail["TrailARN"]

    config = s.client("config", region_name=east)
    config.put_configuration_recorder(
        ConfigurationRecorder={
            "name": "default",
            "roleARN": f"arn:aws:iam::{estate.management}:role/config",
            "recordingGroup": {"allSupported": True},
        }
    )
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "trail-logs"})
    config.start_configuration_recorder(ConfigurationRecorderName="default")

    ec2 = s.client("ec2", region_name=east)
    ec2.enable_ebs_encryption_by_default()
    estate.ids["encrypted_volume"] = ec2.create_volume(AvailabilityZone=f"{east}a", Size=8, Encrypted=True)["VolumeId"]
    estate.ids["plain_volume"] = ec2.create_volume(AvailabilityZone=f"{east}a", Size=8)["VolumeId"]
    vpc = ec2.create_vpc(CidrBlock="10.10.0.0/16")["Vpc"]["VpcId"]
    ec2.create_flow_logs(
        ResourceIds=[vpc],
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="s3",
        LogDestination="arn:aws:s3:::trail-logs",
    )
    estate.ids["logged_vpc"] = vpc
    open_sg = ec2.create_security_group(GroupName="ssh-open", Description="ssh from anywhere", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=open_sg,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    web_sg = ec2.create_security_group(GroupName="web", Description="https", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=web_sg,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    estate.ids.update(open_sg=open_sg, web_sg=web_sg)
    instances = ec2.run_instances(
        ImageId="ami-12345678",
        MinCount=2,
        MaxCount=2,
        InstanceType="t3.micro",
        TagSpecifications=[
            {
                "ResourceType": "instance",
                "Tags": [{"Key": "Owner", "Value": "web-team"}, {"Key": "db_password", "Value": CANARY}],
            }
        ],
    )["Instances"]
    estate.ids["running_instance"], estate.ids["stopped_instance"] = (i["InstanceId"] for i in instances)
    ec2.stop_instances(InstanceIds=[estate.ids["stopped_instance"]])
    ec2.modify_instance_metadata_options(InstanceId=estate.ids["stopped_instance"], HttpTokens="required")

    rds = s.client("rds", region_name=east)
    common = {
        "DBInstanceClass": "db.t3.micro",
        "MasterUsername": "admin",
        "MasterUserPassword": CANARY,
        "AllocatedStorage": 20,
    }
    rds.create_db_parameter_group(
        DBParameterGroupName="postgres-tls", DBParameterGroupFamily="postgres16", Description="TLS only"
    )
    rds.modify_db_parameter_group(
        DBParameterGroupName="postgres-tls",
        Parameters=[{"ParameterName": "rds.force_ssl", "ParameterValue": "1", "ApplyMethod": "pending-reboot"}],
    )
    rds.create_db_instance(
        DBInstanceIdentifier="orders-db",
        DBParameterGroupName="postgres-tls",
        Engine="postgres",
        StorageEncrypted=True,
        PubliclyAccessible=False,
        BackupRetentionPeriod=14,
        AutoMinorVersionUpgrade=True,
        MultiAZ=True,
        DeletionProtection=True,
        MaxAllocatedStorage=100,
        Tags=[{"Key": "Owner", "Value": "orders-team"}, {"Key": "DataClassification", "Value": "cardholder"}],
        **common,
    )
    rds.create_db_instance(
        DBInstanceIdentifier="legacy-db",
        Engine="mysql",
        StorageEncrypted=False,
        PubliclyAccessible=True,
        BackupRetentionPeriod=1,
        AutoMinorVersionUpgrade=False,
        **common,
    )

    logs.create_log_group(logGroupName="/app/audit", tags={"Owner": "audit-team"})
    logs.put_retention_policy(logGroupName="/app/audit", retentionInDays=400)
    logs.create_log_group(logGroupName="/app/debug")
    logs.put_retention_policy(logGroupName="/app/debug", retentionInDays=30)
    logs.create_log_group(logGroupName="/app/forever")

    s.client("guardduty", region_name=east).create_detector(
        Enable=True,
        Features=[
            {"Name": "EBS_MALWARE_PROTECTION", "Status": "ENABLED"},
            {"Name": "RUNTIME_MONITORING", "Status": "ENABLED"},
        ],
    )
    s.client("securityhub", region_name=east).enable_security_hub()
    s.client("macie2", region_name=west).disable_macie()  # moto starts with Macie enabled everywhere
    s.client("guardduty", region_name=west).create_detector(Enable=False)

    role = iam.create_role(RoleName="lambda-exec", AssumeRolePolicyDocument=json.dumps(admin))["Role"]["Arn"]
    lam = s.client("lambda", region_name=east)
    for name, runtime, variables in (
        ("api", "python3.12", ("DB_PASSWORD_SECRET_ARN", "STAGE")),  # a reference to Secrets Manager
        ("legacy-job", "python3.8", ("DB_PASSWORD", "API_TOKEN", "STAGE")),  # the secrets themselves
    ):
        lam.create_function(
            FunctionName=name,
            Runtime=runtime,
            Role=role,
            Handler="handler.handle",
            Code={"ZipFile": _zip()},
            Environment={"Variables": dict.fromkeys(variables, CANARY)},
            Tags={"Owner": "api-team"},
        )
    dynamodb = s.client("dynamodb", region_name=east)
    for table, tags in (("sessions", []), ("orders", [{"Key": "data-classification", "Value": "ephi"}])):
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            Tags=tags,
        )
    dynamodb.update_continuous_backups(
        TableName="orders", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    _load_balancers(s, estate)
    s.client("ecs", region_name=west).create_cluster(clusterName="batch")
    s.client("backup", region_name=east).create_backup_plan(
        BackupPlan={
            "BackupPlanName": "daily",
            "Rules": [
                {"RuleName": "daily", "TargetBackupVaultName": "Default", "ScheduleExpression": "cron(0 5 ? * * *)"}
            ],
        }
    )


def _security_alarms(s: boto3.Session, group: str) -> None:
    """A metric filter and an alarm notifying the security team for each CIS monitoring item."""
    logs, cloudwatch = s.client("logs", region_name=REGIONS[0]), s.client("cloudwatch", region_name=REGIONS[0])
    topic = f"arn:aws:sns:{REGIONS[0]}:{s.client('sts').get_caller_identity()['Account']}:security"
    for name, pattern in CIS_PATTERNS.items():
        logs.put_metric_filter(
            logGroupName=group,
            filterName=name,
            filterPattern=pattern,
            metricTransformations=[{"metricName": name, "metricNamespace": "Security", "metricValue": "1"}],
        )
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            Namespace="Security",
            MetricName=name,
            Statistic="Sum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            AlarmActions=[topic],
        )


def _certificate(name: str, days: int) -> tuple[bytes, bytes]:
    """A self-signed certificate valid for `days` more days, and its key (PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = utcnow()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    return certificate.public_bytes(serialization.Encoding.PEM), pem_key


def _load_balancers(s: boto3.Session, estate: Estate) -> None:
    """shop-lb: TLS 1.2+ only, HTTP redirected, behind WAF, certificate valid a year. legacy-lb: TLS 1.0 allowed,
    plain HTTP served, no WAF, certificate expiring in 5 days. internal-lb: internal (WAF not applicable)."""
    east = REGIONS[0]
    ec2, elb = s.client("ec2", region_name=east), s.client("elbv2", region_name=east)
    acm, waf = s.client("acm", region_name=east), s.client("wafv2", region_name=east)
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [n["SubnetId"] for n in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]][
        :2
    ]
    target = elb.create_target_group(Name="web", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]
    forward = [{"Type": "forward", "TargetGroupArn": target["TargetGroupArn"]}]
    redirect = [{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}]
    for name, domain, days, policy, http_action in (
        ("shop-lb", "shop.example.com", 365, "ELBSecurityPolicy-TLS13-1-2-2021-06", redirect),
        ("legacy-lb", "legacy.example.com", 5, "ELBSecurityPolicy-2016-08", forward),
    ):
        certificate, key = _certificate(domain, days)
        cert_arn = acm.import_certificate(Certificate=certificate, PrivateKey=key)["CertificateArn"]
        lb = elb.create_load_balancer(Name=name, Subnets=subnets, Scheme="internet-facing", Type="application")
        lb_arn = lb["LoadBalancers"][0]["LoadBalancerArn"]
        https = elb.create_listener(
            LoadBalancerArn=lb_arn,
            Protocol="HTTPS",
            Port=443,
            SslPolicy=policy,
            Certificates=[{"CertificateArn": cert_arn}],
            DefaultActions=forward,
        )["Listeners"][0]["ListenerArn"]
        http = elb.create_listener(LoadBalancerArn=lb_arn, Protocol="HTTP", Port=80, DefaultActions=http_action)
        estate.ids.update(
            {
                f"{name}": lb_arn,
                f"{name}-https": https,
                f"{name}-http": http["Listeners"][0]["ListenerArn"],
                f"{name}-cert": cert_arn,
            }
        )
    acl = waf.create_web_acl(
        Name="shop-acl",
        Scope="REGIONAL",
        DefaultAction={"Allow": {}},
        VisibilityConfig={"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "shop"},
        Rules=[],
    )["Summary"]
    waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=estate.ids["shop-lb"])
    internal = elb.create_load_balancer(Name="internal-lb", Subnets=subnets, Scheme="internal", Type="application")
    estate.ids["internal-lb"] = internal["LoadBalancers"][0]["LoadBalancerArn"]


def _member_a(s: boto3.Session, estate: Estate) -> None:
    east, west = REGIONS
    s.client("iam").update_account_password_policy(MinimumPasswordLength=8, RequireNumbers=True)
    s3control = s.client("s3control", region_name=east)
    s3control.meta.events.register("before-sign.s3-control", fix_s3control_host)  # for moto_server endpoints
    s3control.put_public_access_block(
        AccountId=estate.member_a,
        PublicAccessBlockConfiguration=dict.fromkeys(
            ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
        ),
    )
    s.client("s3", region_name=west).create_bucket(
        Bucket="member-a-data", CreateBucketConfiguration={"LocationConstraint": west}
    )
    cloudtrail = s.client("cloudtrail", region_name=west)
    s.client("s3", region_name=west).create_bucket(
        Bucket="member-a-trail", CreateBucketConfiguration={"LocationConstraint": west}
    )
    trail = cloudtrail.create_trail(Name="local-trail", S3BucketName="member-a-trail")
    cloudtrail.start_logging(Name="local-trail")
    estate.ids["weak_trail"] = trail["TrailARN"]
    rds = s.client("rds", region_name=west)
    rds.create_db_instance(
        DBInstanceIdentifier="member-a-db",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        MasterUsername="admin",
        MasterUserPassword=CANARY,
        AllocatedStorage=20,
        StorageEncrypted=True,
        BackupRetentionPeriod=7,
    )


def _member_b(s: boto3.Session, estate: Estate) -> None:
    s.client("s3", region_name=REGIONS[0]).create_bucket(Bucket="member-b-scratch")
    s.client("guardduty", region_name=REGIONS[0]).create_detector(Enable=True)  # no malware or runtime features


def _backdate(estate: Estate) -> None:
    """Facts with no AWS API: root MFA (set in the console) and old credentials (time passing)."""
    from moto.iam.models import AccessKeyLastUsed, iam_backends

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
