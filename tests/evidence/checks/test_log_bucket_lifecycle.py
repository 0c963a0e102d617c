"""s3.log_bucket_lifecycle_expiry: buckets that CloudTrail, server access logging, load balancers or VPC flow logs
write to expire what they receive (noncurrent versions too, in a versioned bucket). Collected from moto and
evaluated; rule-matching details on in-memory evidence."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import enable_iam_authentication

from evidence.checks.evaluate import evaluate_view
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import Finding, FindingStatus
from evidence.checks.view import EvidenceView
from evidence.store import EvidenceStore
from tests.evidence.checks.test_missing_evidence import ACCOUNT, WHEN, listing, record, scope
from tests.evidence.collectors.harness import REGION, collect, denied, log_delivery_policy
from tests.moto_server import fake_aws_env
from tests.scenario import Collected

PASS, FAIL, NA, ERROR = FindingStatus.PASS, FindingStatus.FAIL, FindingStatus.NOT_APPLICABLE, FindingStatus.ERROR
CHECK = "s3.log_bucket_lifecycle_expiry"
COLLECTORS = ["s3", "cloudtrail", "load_balancers", "vpc_flow_logs"]


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def _rule(rule_id: str, **fields: Any) -> dict[str, Any]:
    return {"ID": rule_id, "Status": "Enabled", "Filter": {"Prefix": ""}, **fields}


def _estate(session: boto3.Session) -> None:
    """trail-logs: versioned, current and noncurrent versions expire. access-logs: no lifecycle. lb-logs: only
    tagged objects expire. flow-logs: the AWSLogs/ folder expires. app: writes access logs, receives none."""
    s3 = session.client("s3")
    for name in ("trail-logs", "access-logs", "lb-logs", "flow-logs", "app"):
        s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket="trail-logs", VersioningConfiguration={"Status": "Enabled"})
    expire = _rule("expire", Expiration={"Days": 400}, NoncurrentVersionExpiration={"NoncurrentDays": 30})
    s3.put_bucket_lifecycle_configuration(Bucket="trail-logs", LifecycleConfiguration={"Rules": [expire]})
    s3.put_bucket_policy(Bucket="access-logs", Policy=json.dumps(log_delivery_policy("access-logs")))
    s3.put_bucket_logging(
        Bucket="app", BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "access-logs", "TargetPrefix": "app/"}}
    )
    tagged = {"ID": "tagged", "Status": "Enabled", "Filter": {"Tag": {"Key": "expire", "Value": "yes"}}}
    s3.put_bucket_lifecycle_configuration(
        Bucket="lb-logs", LifecycleConfiguration={"Rules": [{**tagged, "Expiration": {"Days": 90}}]}
    )
    folder = _rule("aws-logs", Filter={"Prefix": "AWSLogs/"}, Expiration={"Days": 365})
    s3.put_bucket_lifecycle_configuration(Bucket="flow-logs", LifecycleConfiguration={"Rules": [folder]})

    session.client("cloudtrail").create_trail(Name="org-trail", S3BucketName="trail-logs")
    ec2, elb = session.client("ec2"), session.client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.create_flow_logs(
        ResourceIds=[vpc],
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="s3",
        LogDestination="arn:aws:s3:::flow-logs",  # moto refuses a folder in the destination
    )
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    lb = elb.create_load_balancer(Name="shop", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    elb.modify_load_balancer_attributes(
        LoadBalancerArn=lb,
        Attributes=[
            {"Key": "access_logs.s3.enabled", "Value": "true"},
            {"Key": "access_logs.s3.bucket", "Value": "lb-logs"},
        ],
    )


def _by_bucket(findings: list[Finding]) -> dict[str, Finding]:
    return {f.resource_id.removeprefix("arn:aws:s3:::"): f for f in findings if f.check_id == CHECK}


def test_log_buckets_found_from_every_source_and_judged(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    _estate(aws)
    findings = _by_bucket(collect(sqlite_store, aws, COLLECTORS).findings)
    assert set(findings) == {"trail-logs", "access-logs", "lb-logs", "flow-logs"}  # buckets receiving logs only
    trail = findings["trail-logs"]
    assert trail.status == PASS
    assert (
        trail.reason
        == "logs expire after 400 days, noncurrent versions 30 days after replacement (CloudTrail trail org-trail)"
    )
    access = findings["access-logs"]
    assert (
        access.status == FAIL
        and access.reason == "no lifecycle configuration: logs are kept forever (server access logs of app)"
    )
    lb = findings["lb-logs"]
    assert (
        lb.status == FAIL and "access logs of load balancer shop under AWSLogs/: no enabled lifecycle rule" in lb.reason
    )
    assert findings["flow-logs"].status == PASS and "after 365 days" in findings["flow-logs"].reason


def test_a_refused_lifecycle_read_is_an_error_and_no_sources_is_not_applicable(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    aws.client("s3").create_bucket(Bucket="quiet")
    [quiet] = _by_bucket(collect(sqlite_store, aws, COLLECTORS).findings).values()
    assert quiet.status == NA and quiet.reason == "no trail, access logging, load balancer or flow log writes to S3"
    _estate(aws)
    auditor = denied(aws, "s3:GetLifecycleConfiguration")
    with enable_iam_authentication():
        findings = _by_bucket(collect(sqlite_store, auditor, COLLECTORS).findings)
    assert {f.status for f in findings.values()} == {ERROR}
    assert "s3:GetBucketLifecycleConfiguration failed (AccessDenied" in findings["trail-logs"].reason


BUCKET_ARN = "arn:aws:s3:::logs"


def _judge(rules: list[dict[str, Any]] | None, *, versioned: bool = False, prefix: str = "") -> Finding:
    """The verdict on bucket `logs`, receiving a trail's logs under `prefix`/AWSLogs/, with `rules`."""
    bucket = record("s3.bucket", BUCKET_ARN, {"Name": "logs", "Tags": []}, region="global", resource_type="bucket")
    lifecycle = {"Rules": rules} if rules is not None else {"NotFound": {"Code": "NoSuchLifecycleConfiguration"}}
    trail_arn = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/t"
    items = [
        *scope(),
        listing("s3.bucket", [BUCKET_ARN], region="global"),
        bucket,
        record("s3.bucket_logging", BUCKET_ARN, {}, region="global"),
        record("s3.bucket_lifecycle", BUCKET_ARN, lifecycle, region="global"),
        record("s3.bucket_versioning", BUCKET_ARN, {"Status": "Enabled"} if versioned else {}, region="global"),
        listing("cloudtrail.trail", [trail_arn]),
        record("cloudtrail.trail", trail_arn, {"Name": "t", "S3BucketName": "logs", "S3KeyPrefix": prefix}),
        listing("elbv2.load_balancer", []),
        record("ec2.flow_logs", f"{ACCOUNT}/{REGION}/vpc-flow-logs", {"FlowLogs": []}),
    ]
    findings = evaluate_view(EvidenceView(items, []), thresholds=Thresholds(), now=WHEN)
    [finding] = [f for f in findings if f.check_id == CHECK]
    return finding


def test_which_rules_expire_a_sources_logs() -> None:
    expire = {"Expiration": {"Days": 30}}
    assert _judge(None).status == FAIL
    assert _judge([_rule("all", **expire)]).status == PASS
    assert _judge([{**_rule("off", **expire), "Status": "Disabled"}]).status == FAIL
    assert _judge([_rule("markers", Expiration={"ExpiredObjectDeleteMarker": True})]).status == FAIL
    # a prefix rule counts where the logs are written under it
    assert _judge([_rule("p", Filter={"Prefix": "audit/"}, **expire)], prefix="audit").status == PASS
    assert _judge([_rule("p", Filter={"Prefix": "other/"}, **expire)], prefix="audit").status == FAIL
    assert _judge([{"ID": "legacy", "Status": "Enabled", "Prefix": "AWSLogs/", **expire}]).status == PASS
    # rules narrowed by tag or size leave the (untagged, variously sized) logs in place
    small = _rule("small", Filter={"And": {"Prefix": "", "ObjectSizeGreaterThan": 1024}}, **expire)
    assert _judge([small]).status == FAIL
    # versioned: expiring current objects only hides them
    versioned = _judge([_rule("all", **expire)], versioned=True)
    assert versioned.status == FAIL and "noncurrent versions" in versioned.reason
    both = _rule("all", NoncurrentVersionExpiration={"NoncurrentDays": 7}, **expire)
    assert _judge([both], versioned=True).status == PASS


def test_a_log_bucket_in_another_account_is_judged_there() -> None:
    trail_arn = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/org"
    items = [
        *scope(),
        listing("s3.bucket", [], region="global"),
        listing("cloudtrail.trail", [trail_arn]),
        record("cloudtrail.trail", trail_arn, {"Name": "org", "S3BucketName": "central-logs"}),
        listing("elbv2.load_balancer", []),
        record("ec2.flow_logs", f"{ACCOUNT}/{REGION}/vpc-flow-logs", {"FlowLogs": []}),
    ]
    findings = evaluate_view(EvidenceView(items, []), thresholds=Thresholds(), now=WHEN)
    [finding] = [f for f in findings if f.check_id == CHECK]
    assert finding.status == NA and finding.resource_id == "arn:aws:s3:::central-logs"
    assert "not in this account" in finding.reason


def test_log_buckets_in_the_scenario_estate(collected: Collected) -> None:
    estate = collected.estate
    trail_logs = collected.finding(CHECK, ":::trail-logs")
    assert trail_logs.status == PASS
    for source in (
        "CloudTrail trail org-trail",
        "access logs of load balancer shop-lb",
        f"of {estate.ids['logged_vpc']}",
    ):
        assert source in trail_logs.reason
    access = collected.finding(CHECK, ":::access-logs")
    assert access.status == FAIL and "server access logs of secure-bucket" in access.reason
    assert collected.finding(CHECK, ":::member-a-trail").status == FAIL
    quiet = collected.finding(CHECK, f"{estate.member_b}/global/s3.bucket")
    assert quiet.status == NA
