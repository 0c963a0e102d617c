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


def test_security_groups_in_use_limit_egress(collected: Collected) -> None:
    ids = collected.estate.ids
    limited = collected.finding("ec2.sg_egress_restricted", ids["egress_sg"])
    assert limited.status == PASS and limited.reason.endswith("1 egress rule, none open to all")
    # the default group of the default VPC, which both instances use, keeps AWS's all-traffic rule
    opened = [f for f in collected.findings("ec2.sg_egress_restricted") if f.status == FAIL]
    assert opened and all("egress allows all traffic to 0.0.0.0/0" in f.reason for f in opened)
    # the groups of the logged VPC are used by nothing
    assert collected.finding("ec2.sg_egress_restricted", ids["open_sg"]).status == FindingStatus.NOT_APPLICABLE


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


# -- ec2.sg_egress_restricted, collected from moto in one account ----------------------------------------------

EGRESS = "ec2.sg_egress_restricted"
EVERYTHING_OUT = {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}


def test_groups_in_use_fail_when_everything_may_leave(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    groups = {
        name: ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
        for name in ("app", "open", "unused")
    }
    # app: AWS's default all-traffic egress replaced by HTTPS out and PostgreSQL to the VPC
    ec2.revoke_security_group_egress(GroupId=groups["app"], IpPermissions=[EVERYTHING_OUT])
    https = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    postgres = {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}
    ec2.authorize_security_group_egress(GroupId=groups["app"], IpPermissions=[https, postgres])
    for name in ("app", "open"):
        ec2.run_instances(
            ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=subnet, SecurityGroupIds=[groups[name]]
        )

    run = collect_account(sqlite_store, aws, ["security_groups"])
    found = {f.resource_id.rsplit("/", 1)[-1]: f for f in findings(sqlite_store, run, EGRESS)}
    assert found[groups["app"]].status == PASS
    assert found[groups["app"]].reason == "used by 1 network interface; 2 egress rules, none open to all"
    assert found[groups["open"]].status == FAIL
    assert found[groups["open"]].reason == "used by 1 network interface; egress allows all traffic to 0.0.0.0/0"
    assert found[groups["unused"]].status == FindingStatus.NOT_APPLICABLE  # protects nothing


def test_unreadable_network_interfaces_are_an_error_for_every_group(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    ec2 = aws.client("ec2")
    ec2.create_security_group(GroupName="app", Description="app")
    deny(aws, "ec2", "DescribeNetworkInterfaces", code="UnauthorizedOperation")
    result = findings(sqlite_store, collect_account(sqlite_store, aws, ["security_groups"]), EGRESS)
    assert result and all(f.status == FindingStatus.ERROR for f in result)
    assert "ec2:DescribeNetworkInterfaces failed (UnauthorizedOperation" in result[0].reason


def test_open_egress_rules() -> None:
    from evidence.checks.ec2 import open_egress

    assert open_egress({"IpPermissionsEgress": [EVERYTHING_OUT]}) == ["all traffic to 0.0.0.0/0"]
    every_tcp = {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}
    assert open_egress({"IpPermissionsEgress": [every_tcp]}) == ["every tcp port to ::/0"]
    to_vpc = {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}
    assert open_egress({"IpPermissionsEgress": [to_vpc]}) == []
