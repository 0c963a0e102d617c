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
from auditpack.estate.plan import Estate, PlantedEstate, Region, plant_estate
from auditpack.estate.s3 import Bucket, plant_bucket
from auditpack.estate.target import Target, member_session
from tests.moto_server import fake_aws_env

moto = pytest.importorskip("moto")


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
            "EKS clusters": sum(len(region.eks_clusters) for region in regions),
            "ECR repositories": sum(len(region.ecr_repositories) for region in regions),
            "EFS file systems": sum(len(region.efs_file_systems) for region in regions),
            "IAM Identity Center permission sets": sum(len(account.permission_sets) for account in estate.accounts),
        }
    )
    assert {what: built.resources[what] for what in expected} == dict(expected)
    assert built.resources.total() == 86  # what docs/demo.md and the demo's summary say


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
