"""Network checks on the scenario estate, the port/CIDR logic on the shapes AWS returns, and source/destination
checking collected from moto."""

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from evidence.checks.ec2 import open_admin_ports
from evidence.checks.types import FindingStatus
from evidence.store import EvidenceStore
from tests.evidence.checks.test_missing_evidence import ACCOUNT, REGION, evaluate, listing, record
from tests.evidence.collectors.one_account import collect_account, deny, findings
from tests.moto_server import fake_aws_env
from tests.scenario import Collected

PASS, FAIL = FindingStatus.PASS, FindingStatus.FAIL


def test_security_groups(collected: Collected) -> None:
    ids = collected.estate.ids
    bad = collected.finding("ec2.sg_no_admin_ports_open", ids["open_sg"])
    assert bad.status == FAIL and bad.reason == "ingress allows tcp 22 from 0.0.0.0/0"
    assert collected.finding("ec2.sg_no_admin_ports_open", ids["web_sg"]).status == PASS


def test_rds_public_access(collected: Collected) -> None:
    assert collected.finding("rds.not_publicly_accessible", ":db:orders-db").status == PASS
    assert collected.finding("rds.not_publicly_accessible", ":db:legacy-db").status == FAIL


def test_open_admin_ports_rules() -> None:
    ports = (22, 3389)
    everything = {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    assert open_admin_ports({"IpPermissions": [everything]}, ports) == [
        "all 22 from 0.0.0.0/0",
        "all 3389 from 0.0.0.0/0",
    ]
    rdp_v6 = {"IpProtocol": "tcp", "FromPort": 3000, "ToPort": 4000, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}
    assert open_admin_ports({"IpPermissions": [rdp_v6]}, ports) == ["tcp 3389 from ::/0"]
    office = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "203.0.113.0/24"}]}
    assert open_admin_ports({"IpPermissions": [office]}, ports) == []
    icmp = {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    assert open_admin_ports({"IpPermissions": [icmp]}, ports) == []


# -- ec2.source_dest_check_enabled, collected from moto in one account -----------------------------------------

SOURCE_DEST = "ec2.source_dest_check_enabled"


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def test_instances_with_source_dest_checking_off_fail(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    ec2 = aws.client("ec2")
    answer = ec2.run_instances(ImageId="ami-12c6146b", MinCount=2, MaxCount=2)
    app, nat = (i["InstanceId"] for i in answer["Instances"])
    ec2.modify_instance_attribute(InstanceId=nat, SourceDestCheck={"Value": False})

    run = collect_account(sqlite_store, aws, ["ec2_instances"])
    found = {f.resource_id.rsplit("/", 1)[-1]: f for f in findings(sqlite_store, run, SOURCE_DEST)}
    assert found[app].status == PASS and found[app].reason == "source/destination checking is on"
    assert found[nat].status == FAIL
    assert found[nat].reason == "source/destination checking is off: the instance may send from addresses not its own"


def test_an_unreadable_instance_listing_is_an_error(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    aws.client("ec2").run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)
    deny(aws, "ec2", "DescribeInstances", code="UnauthorizedOperation")
    [finding] = findings(sqlite_store, collect_account(sqlite_store, aws, ["ec2_instances"]), SOURCE_DEST)
    assert finding.status == FindingStatus.ERROR
    assert "ec2:DescribeInstances failed (UnauthorizedOperation" in finding.reason


def test_an_instance_description_without_the_attribute_cannot_pass() -> None:
    arn = f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-1"
    found = evaluate([record("ec2.instance", arn, {"InstanceId": "i-1"}), listing("ec2.instance", [arn])])
    [finding] = found[SOURCE_DEST]
    assert finding.status == FindingStatus.ERROR and "no SourceDestCheck" in finding.reason
