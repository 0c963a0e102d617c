"""Log export checks, collected from moto and evaluated: RDS log exports to CloudWatch Logs (the cluster's for
Aurora), load balancer access logs, server access logging on classified buckets. What the evidence does not say
is an `error`, never a pass."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from moto.core import enable_iam_authentication

from evidence.checks.rds import required_log_exports
from evidence.checks.types import FindingStatus
from evidence.store import EvidenceStore
from tests.evidence.collectors.harness import DB, REGION, collect, denied, log_delivery_policy
from tests.moto_server import fake_aws_env
from tests.scenario import Collected

PASS, FAIL, NA, ERROR = FindingStatus.PASS, FindingStatus.FAIL, FindingStatus.NOT_APPLICABLE, FindingStatus.ERROR
CLASSIFIED = [{"Key": "DataClassification", "Value": "confidential"}]


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def test_rds_log_exports_per_engine_and_cluster(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    rds = aws.client("rds")
    rds.create_db_instance(DBInstanceIdentifier="pg", EnableCloudwatchLogsExports=["postgresql"], **DB)
    rds.create_db_instance(DBInstanceIdentifier="silent", **DB)
    rds.create_db_instance(
        DBInstanceIdentifier="my", **{**DB, "Engine": "mysql"}, EnableCloudwatchLogsExports=["error", "slowquery"]
    )
    aurora = {"Engine": "aurora-postgresql", "MasterUsername": "admin", "MasterUserPassword": "pw-1234567"}
    rds.create_db_cluster(DBClusterIdentifier="logged", EnableCloudwatchLogsExports=["postgresql"], **aurora)
    rds.create_db_cluster(DBClusterIdentifier="quiet", **aurora)
    for cluster in ("logged", "quiet"):
        rds.create_db_instance(
            DBInstanceIdentifier=f"{cluster}-1",
            DBClusterIdentifier=cluster,
            Engine="aurora-postgresql",
            DBInstanceClass="db.r6g.large",
        )
    findings = collect(sqlite_store, aws, ["rds"]).of("rds.log_exports_enabled")
    assert (
        findings["pg"].status == PASS and findings["pg"].reason == "the instance exports postgresql to CloudWatch Logs"
    )
    assert findings["silent"].status == FAIL and "exports no logs" in findings["silent"].reason
    assert findings["my"].status == FAIL and findings["my"].reason.endswith("but not audit (mysql)")
    logged = findings["logged-1"]
    assert logged.status == PASS and "its DB cluster logged exports postgresql" in logged.reason
    assert len(logged.evidence) == 2  # the instance and its cluster
    assert findings["quiet-1"].status == FAIL and "its DB cluster quiet exports no logs" in findings["quiet-1"].reason


def test_an_unreadable_cluster_is_an_error_for_its_instances(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    rds = aws.client("rds")
    rds.create_db_cluster(
        DBClusterIdentifier="ledger",
        Engine="aurora-postgresql",
        MasterUsername="admin",
        MasterUserPassword="pw-1234567",
    )
    rds.create_db_instance(
        DBInstanceIdentifier="ledger-1", DBClusterIdentifier="ledger", Engine="aurora-postgresql", DBInstanceClass="x"
    )
    auditor = denied(aws, "rds:DescribeDBClusters")
    with enable_iam_authentication():
        findings = collect(sqlite_store, auditor, ["rds"]).of("rds.log_exports_enabled")
    [finding] = findings.values()
    assert finding.status == ERROR and finding.resource_id.endswith(":db:ledger-1")
    assert "no DB cluster details was collected" in finding.reason


def test_required_log_types_by_engine() -> None:
    assert required_log_exports("aurora-mysql") == {"audit", "error"}
    assert required_log_exports("oracle-ee-cdb") == {"audit", "alert"}
    assert required_log_exports("sqlserver-se") == {"error"}
    assert required_log_exports("postgres") == {"postgresql"}
    assert required_log_exports("something-new") is None


def _load_balancers(session: boto3.Session) -> dict[str, str]:
    ec2, elb = session.client("ec2"), session.client("elbv2")
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    arns = {
        name: elb.create_load_balancer(Name=name, Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
        for name in ("logged", "silent", "unknown")
    }
    elb.modify_load_balancer_attributes(
        LoadBalancerArn=arns["logged"],
        Attributes=[
            {"Key": "access_logs.s3.enabled", "Value": "true"},
            {"Key": "access_logs.s3.bucket", "Value": "lb-logs"},
            {"Key": "access_logs.s3.prefix", "Value": "shop"},
        ],
    )
    elb.modify_load_balancer_attributes(
        LoadBalancerArn=arns["silent"], Attributes=[{"Key": "access_logs.s3.enabled", "Value": "false"}]
    )
    return arns  # "unknown": moto's default attributes leave access_logs.s3.enabled out, AWS always answers it


def test_load_balancer_access_logs(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    _load_balancers(aws)
    findings = collect(sqlite_store, aws, ["load_balancers"]).of("elbv2.access_logs_enabled")
    by_name = {f.resource_id.split("/")[-2]: f for f in findings.values()}
    assert by_name["logged"].status == PASS and by_name["logged"].reason == "access logs go to s3://lb-logs/shop"
    assert by_name["silent"].status == FAIL
    assert by_name["unknown"].status == ERROR and "cannot decide" in by_name["unknown"].reason


def test_load_balancer_attributes_refused_and_no_load_balancers(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    assert [
        f.status for f in collect(sqlite_store, aws, ["load_balancers"]).of("elbv2.access_logs_enabled").values()
    ] == [NA]
    _load_balancers(aws)
    auditor = denied(aws, "elasticloadbalancing:DescribeLoadBalancerAttributes")
    with enable_iam_authentication():
        findings = collect(sqlite_store, auditor, ["load_balancers"]).of("elbv2.access_logs_enabled")
    assert len(findings) == 3 and {f.status for f in findings.values()} == {ERROR}
    assert all("DescribeLoadBalancerAttributes failed (AccessDenied" in f.reason for f in findings.values())


def _buckets(session: boto3.Session) -> None:
    s3 = session.client("s3")
    for name in ("phi-logged", "phi-silent", "scratch", "access-logs"):
        s3.create_bucket(Bucket=name)
    s3.put_bucket_policy(Bucket="access-logs", Policy=json.dumps(log_delivery_policy("access-logs")))
    for name in ("phi-logged", "phi-silent"):
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": CLASSIFIED})
    s3.put_bucket_logging(
        Bucket="phi-logged",
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "access-logs", "TargetPrefix": "phi-logged/"}},
    )


def test_server_access_logging_on_classified_buckets(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    _buckets(aws)
    findings = collect(sqlite_store, aws, ["s3"]).of("s3.access_logging_on_classified")
    assert findings["phi-logged"].status == PASS
    assert findings["phi-logged"].reason == "classified confidential: server access logs go to access-logs/phi-logged/"
    assert findings["phi-silent"].status == FAIL and "logging is off" in findings["phi-silent"].reason
    assert findings["scratch"].status == NA and "not classified" in findings["scratch"].reason


def test_unread_tags_or_logging_are_errors_not_unclassified(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    _buckets(aws)
    auditor = denied(aws, "s3:GetBucketLogging")
    with enable_iam_authentication():
        findings = collect(sqlite_store, auditor, ["s3"]).of("s3.access_logging_on_classified")
    assert findings["phi-logged"].status == ERROR and "s3:GetBucketLogging failed" in findings["phi-logged"].reason
    assert findings["scratch"].status == NA  # unclassified: its logging does not matter
    auditor = denied(aws, "s3:GetBucketTagging")
    with enable_iam_authentication():
        findings = collect(sqlite_store, auditor, ["s3"]).of("s3.access_logging_on_classified")
    assert {f.status for f in findings.values()} == {ERROR}
    assert "s3:GetBucketTagging failed (AccessDenied" in findings["scratch"].reason


def test_log_exports_and_access_logs_in_the_scenario_estate(collected: Collected) -> None:
    ids = collected.estate.ids
    assert collected.finding("rds.log_exports_enabled", ":db:orders-db").status == PASS
    assert collected.finding("rds.log_exports_enabled", ":db:legacy-db").status == FAIL
    shop = collected.finding("elbv2.access_logs_enabled", ids["shop-lb"])
    assert shop.status == PASS and shop.reason == "access logs go to s3://trail-logs/elb"
    assert collected.finding("elbv2.access_logs_enabled", ids["legacy-lb"]).status == FAIL
    assert collected.finding("s3.access_logging_on_classified", ":::secure-bucket").status == PASS
    assert collected.finding("s3.access_logging_on_classified", ":::phi-exports").status == FAIL
    assert collected.finding("s3.access_logging_on_classified", ":::access-logs").status == NA  # internal
