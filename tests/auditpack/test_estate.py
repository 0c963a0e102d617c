"""The estate builder plants what its data says, and nothing it was not asked for (read back through the AWS APIs,
in moto), and its data refuses typos."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

import boto3
import pytest
from pydantic import ValidationError

from auditpack.demo.spec import load_estate, parse_estate
from auditpack.estate.cloudtrail import Trail, plant_trail
from auditpack.estate.dynamodb import Table, plant_table
from auditpack.estate.ec2 import Snapshot, Volume, plant_volume
from auditpack.estate.kms import Key, plant_key
from auditpack.estate.plan import Estate, PlantedEstate, Region, plant_estate
from auditpack.estate.rds import Database, DbSnapshot, plant_database
from auditpack.estate.s3 import Bucket, plant_bucket
from auditpack.estate.secrets import Secret, plant_secret
from auditpack.estate.target import Target, member_session
from tests.moto_server import fake_aws_env

moto = pytest.importorskip("moto")
REGION = "us-west-2"


@pytest.fixture(scope="module")
def planted() -> Iterator[tuple[boto3.Session, Estate, PlantedEstate]]:
    estate = load_estate()
    with fake_aws_env(), moto.mock_aws():
        base = boto3.Session(region_name=estate.home_region)
        yield base, estate, plant_estate(base, estate, password=estate.canary)


def _session(base: boto3.Session, estate: Estate, planted: PlantedEstate, key: str) -> boto3.Session:
    account_id = planted.account_ids[key]
    return base if key == estate.accounts[0].key else member_session(base, account_id)


def test_every_account_holds_the_identities_and_buckets_its_data_lists(
    planted: tuple[boto3.Session, Estate, PlantedEstate],
) -> None:
    base, estate, built = planted
    for account in estate.accounts:
        session = _session(base, estate, built, account.key)
        iam = session.client("iam")
        users = {user["UserName"] for user in iam.list_users()["Users"]}
        assert users == {user.name for user in account.users}
        for user in account.users:
            keys = iam.list_access_keys(UserName=user.name)["AccessKeyMetadata"]
            assert len(keys) == len(user.access_keys)
            devices = iam.list_mfa_devices(UserName=user.name)["MFADevices"]
            assert bool(devices) == user.mfa
        buckets = {bucket["Name"] for bucket in session.client("s3").list_buckets()["Buckets"]}
        assert buckets == {bucket.name for bucket in account.buckets}


def test_every_region_holds_its_keys_trails_networks_and_functions(
    planted: tuple[boto3.Session, Estate, PlantedEstate],
) -> None:
    base, estate, built = planted
    for account in estate.accounts:
        session = _session(base, estate, built, account.key)
        for name in estate.regions:
            region = account.regions.get(name)
            kms = session.client("kms", region_name=name)
            aliases = {
                a["AliasName"] for a in kms.list_aliases()["Aliases"] if not a["AliasName"].startswith("alias/aws/")
            }
            trails = session.client("cloudtrail", region_name=name).describe_trails(includeShadowTrails=False)
            groups = session.client("ec2", region_name=name).describe_security_groups()["SecurityGroups"]
            functions = session.client("lambda", region_name=name).list_functions()["Functions"]
            databases = session.client("rds", region_name=name).describe_db_instances()["DBInstances"]
            vpcs = region.vpcs if region else ()
            assert aliases == {f"alias/{key.alias}" for key in (region.keys if region else ())}
            assert {t["Name"] for t in trails["trailList"]} == {t.name for t in (region.trails if region else ())}
            assert {g["GroupName"] for g in groups} - {"default"} == {g.name for v in vpcs for g in v.security_groups}
            assert {f["FunctionName"] for f in functions} == {f.name for f in (region.functions if region else ())}
            assert {d["DBInstanceIdentifier"] for d in databases} == {d.id for v in vpcs for d in v.databases}


def test_the_tally_counts_what_the_data_describes(planted: tuple[boto3.Session, Estate, PlantedEstate]) -> None:
    _, estate, built = planted
    regions = [region for account in estate.accounts for region in account.regions.values()]
    vpcs = [vpc for region in regions for vpc in region.vpcs]
    expected = Counter(
        {
            "IAM users": sum(len(account.users) for account in estate.accounts),
            "S3 buckets": sum(len(account.buckets) for account in estate.accounts),
            "KMS keys": sum(len(region.keys) for region in regions),
            "CloudTrail trails": sum(len(region.trails) for region in regions),
            "VPCs": len(vpcs),
            "EC2 instances": sum(instance.count for vpc in vpcs for instance in vpc.instances),
            "RDS instances": sum(len(vpc.databases) for vpc in vpcs),
            "load balancers": sum(len(vpc.load_balancers) for vpc in vpcs),
            "RDS snapshots": sum(len(db.snapshots) for vpc in vpcs for db in vpc.databases),
            "EBS volumes": sum(len(region.volumes) for region in regions),
            "EBS snapshots": sum(len(volume.snapshots) for region in regions for volume in region.volumes),
            "secrets": sum(len(region.secrets) for region in regions),
            "EKS clusters": sum(len(region.eks_clusters) for region in regions),
            "ECR repositories": sum(len(region.ecr_repositories) for region in regions),
            "EFS file systems": sum(len(region.efs_file_systems) for region in regions),
            "IAM Identity Center permission sets": sum(len(account.permission_sets) for account in estate.accounts),
            "Route 53 hosted zones": sum(len(account.hosted_zones) for account in estate.accounts),
            "ECS Fargate services": sum(len(region.ecs_services) for region in regions),
            "EKS managed node groups": sum(1 for region in regions for c in region.eks_clusters if c.nodegroup),
            "EKS Fargate profiles": sum(1 for region in regions for c in region.eks_clusters if c.fargate_profile),
        }
    )
    assert {what: built.resources[what] for what in expected} == dict(expected)
    assert built.resources.total() == 101  # what docs/demo.md and the demo's summary say


def test_scanning_containers_file_systems_and_function_policies_are_planted_as_the_data_says(
    planted: tuple[boto3.Session, Estate, PlantedEstate],
) -> None:
    base, estate, built = planted
    for account in estate.accounts:
        session = _session(base, estate, built, account.key)
        account_id = built.account_ids[account.key]
        for name in estate.regions:
            region = account.regions.get(name) or Region()
            status = session.client("inspector2", region_name=name).batch_get_account_status(accountIds=[account_id])
            scanned = {
                kind.upper()
                for entry in status["accounts"]
                for kind, state in entry["resourceState"].items()
                if state["status"] == "ENABLED"
            }
            assert scanned == (set(region.inspector.scans) if region.inspector else set())
            ecr = session.client("ecr", region_name=name).describe_repositories()["repositories"]
            assert {r["repositoryName"]: r["imageScanningConfiguration"]["scanOnPush"] for r in ecr} == {
                r.name: r.scan_on_push for r in region.ecr_repositories
            }
            efs = session.client("efs", region_name=name).describe_file_systems()["FileSystems"]
            assert {f["CreationToken"]: f["Encrypted"] for f in efs} == {
                f.name: f.encrypted for f in region.efs_file_systems
            }
            eks = session.client("eks", region_name=name)
            for cluster in region.eks_clusters:
                described = eks.describe_cluster(name=cluster.name)["cluster"]
                logged = {t for e in described["logging"]["clusterLogging"] if e["enabled"] for t in e["types"]}
                assert logged == set(cluster.log_types)
                public = described["resourcesVpcConfig"]["endpointPublicAccess"]
                assert public == (cluster.public_access_cidrs is not None)
                # what hosts its pods: the node group and Fargate profile the data names, nothing else
                assert eks.list_nodegroups(clusterName=cluster.name)["nodegroups"] == [
                    n for n in (cluster.nodegroup,) if n
                ]
                profiles = eks.list_fargate_profiles(clusterName=cluster.name)["fargateProfileNames"]
                assert profiles == [f for f in (cluster.fargate_profile,) if f]
            ecs = session.client("ecs", region_name=name)
            for cluster_name in region.ecs_clusters:
                arns = ecs.list_services(cluster=cluster_name)["serviceArns"]
                services = ecs.describe_services(cluster=cluster_name, services=arns)["services"] if arns else []
                assert {(s["serviceName"], s["launchType"]) for s in services} == {
                    (s.name, "FARGATE") for s in region.ecs_services if s.cluster == cluster_name
                }
            hub = session.client("securityhub", region_name=name).get_findings()["Findings"]
            assert sorted((f["Title"], f["Workflow"]["Status"]) for f in hub) == sorted(
                (f.title, f.workflow) for f in region.threat_findings
            )
            lam = session.client("lambda", region_name=name)
            for function in region.functions:
                if not function.permissions:
                    with pytest.raises(lam.exceptions.ResourceNotFoundException):
                        lam.get_policy(FunctionName=function.name)
                    continue
                statements = json.loads(lam.get_policy(FunctionName=function.name)["Policy"])["Statement"]
                assert [s["Sid"] for s in statements] == [p.sid for p in function.permissions]


def test_a_typo_in_the_estate_data_names_the_field() -> None:
    text = (
        "organization: X\ncanary: 0123456789abcdefXYZ\nseed: 1\nhome_region: us-east-1\nregions: [us-east-1]\n"
        "config_bucket: c\naccounts:\n  - {key: m, name: m, email: m@example.com,"
        " root: {mfa: true, access_keys: false},"
        " buckets: [{name: b, region: us-east-1, encryption: AES256, versoning: false}]}\n"
    )
    with pytest.raises(ValidationError, match="versoning"):
        parse_estate(text)


def test_a_family_makes_only_the_calls_its_spec_asks_for() -> None:
    """A plain bucket and a bare trail are left as AWS (moto) creates them: the scenario estate's failing cases."""
    with fake_aws_env(), moto.mock_aws():
        target = Target.of(boto3.Session(region_name="us-east-1"))
        bare = {"encryption": None, "tls_only": False, "block_public_access": False, "versioning": False}
        plant_bucket(target, Bucket(name="plain", region="us-east-1", **bare))
        s3 = target.client("s3")
        with pytest.raises(s3.exceptions.ClientError, match="NoSuchBucketPolicy"):
            s3.get_bucket_policy(Bucket="plain")
        assert "Status" not in s3.get_bucket_versioning(Bucket="plain")
        trail = Trail(name="bare-trail", bucket="plain", management_events=False, s3_data_events=False, logging=False)
        plant_trail(target, trail)
        cloudtrail = target.client("cloudtrail")
        assert cloudtrail.get_event_selectors(TrailName="bare-trail").get("EventSelectors", []) == []
        assert cloudtrail.get_trail_status(Name="bare-trail")["IsLogging"] is False
        assert target.tally == Counter({"S3 buckets": 1, "CloudTrail trails": 1})


def test_log_retention_access_logs_keys_snapshots_and_secrets_are_planted_as_asked() -> None:
    """The fields the log, key, snapshot and secret checks read, read back through the APIs (in a region the demo
    estate, planted in this module's moto, leaves untouched)."""
    with fake_aws_env(), moto.mock_aws():
        target = Target.of(boto3.Session(region_name=REGION))
        plant_bucket(target, Bucket(name="log-target", region=REGION, encryption="AES256", log_delivery=True))
        data = Bucket(
            name="data",
            region=REGION,
            encryption="aws:kms",
            kms_key="data-key",
            access_logs_to="log-target",
            expire_days=400,
            expire_noncurrent_days=30,
        )
        plant_bucket(target, data)
        s3 = target.client("s3")
        default = s3.get_bucket_encryption(Bucket="data")["ServerSideEncryptionConfiguration"]["Rules"][0]
        assert default["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == "alias/data-key"
        assert s3.get_bucket_logging(Bucket="data")["LoggingEnabled"] == {
            "TargetBucket": "log-target",
            "TargetPrefix": "data/",
        }
        [rule] = s3.get_bucket_lifecycle_configuration(Bucket="data")["Rules"]
        assert (rule["Expiration"], rule["NoncurrentVersionExpiration"]) == ({"Days": 400}, {"NoncurrentDays": 30})
        with pytest.raises(s3.exceptions.ClientError, match="NoSuchLifecycleConfiguration"):
            s3.get_bucket_lifecycle_configuration(Bucket="log-target")

        volume = plant_volume(target, Volume(snapshots=(Snapshot(public=True),)))
        [snapshot] = target.client("ec2").describe_snapshots(Filters=[{"Name": "volume-id", "Values": [volume]}])[
            "Snapshots"
        ]
        shared = target.client("ec2").describe_snapshot_attribute(
            SnapshotId=snapshot["SnapshotId"], Attribute="createVolumePermission"
        )
        assert shared["CreateVolumePermissions"] == [{"Group": "all"}]

        database = Database(
            id="db",
            engine="postgres",
            tls_required=False,
            log_exports=("postgresql",),
            snapshots=(DbSnapshot(name="db-public", public=True),),
        )
        plant_database(target, database, username="admin", password="not-a-secret-1")
        rds = target.client("rds")
        assert rds.describe_db_instances()["DBInstances"][0]["EnabledCloudwatchLogsExports"] == ["postgresql"]
        attributes = rds.describe_db_snapshot_attributes(DBSnapshotIdentifier="db-public")
        assert attributes["DBSnapshotAttributesResult"]["DBSnapshotAttributes"][0]["AttributeValues"] == ["all"]

        key = plant_key(target, Key(alias="data-key", description="data", rotation=True))
        plant_table(target, Table(name="t", kms_key="data-key"), kms_key_arn=key)
        sse = target.client("dynamodb").describe_table(TableName="t")["Table"]["SSEDescription"]
        assert sse["KMSMasterKeyArn"] == key
        with pytest.raises(ValueError, match="customer-managed key"):
            plant_table(target, Table(name="u", kms_key="data-key"))

        plant_secret(target, Secret(name="static", rotation_days=None), value="value-never-read")
        plant_secret(target, Secret(name="rotating"), value="value-never-read")
        listed = {
            s["Name"]: s.get("RotationEnabled") for s in target.client("secretsmanager").list_secrets()["SecretList"]
        }
        assert listed == {"static": None, "rotating": True}
