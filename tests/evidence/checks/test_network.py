"""Network checks on the scenario estate, and the port/CIDR logic on the shapes AWS returns."""

from evidence.checks.ec2 import open_admin_ports
from evidence.checks.types import FindingStatus
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
