"""route53.no_private_addresses_in_public_zones, collected from moto and evaluated: a public zone publishing an
RFC 1918 or RFC 4193 address fails naming it, one publishing only public addresses passes, a private zone is
not_applicable, and a refused record listing is an error for the zone, never a pass."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from evidence.checks.types import FindingStatus
from evidence.store import EvidenceStore
from tests.evidence.collectors.harness import REGION, collect, refuse
from tests.moto_server import fake_aws_env
from tests.scenario import Collected

PASS, FAIL, NA, ERROR = FindingStatus.PASS, FindingStatus.FAIL, FindingStatus.NOT_APPLICABLE, FindingStatus.ERROR
CHECK = "route53.no_private_addresses_in_public_zones"


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def _zone(session: boto3.Session, name: str, records: dict[str, tuple[str, str]], *, private: bool = False) -> str:
    route53 = session.client("route53")
    extra = {}
    if private:
        vpc = session.client("ec2").create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
        extra = {"VPC": {"VPCRegion": REGION, "VPCId": vpc}, "HostedZoneConfig": {"PrivateZone": True}}
    zone_id = route53.create_hosted_zone(Name=name, CallerReference=name, **extra)["HostedZone"]["Id"]
    changes = [
        {
            "Action": "CREATE",
            "ResourceRecordSet": {"Name": host, "Type": kind, "TTL": 300, "ResourceRecords": [{"Value": value}]},
        }
        for host, (kind, value) in records.items()
    ]
    if changes:
        route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
    return zone_id.rsplit("/", 1)[-1]


def test_public_zones_with_internal_addresses_fail_and_others_pass(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    leaky = _zone(
        aws,
        "leaky.example.com",
        {
            "db.leaky.example.com": ("A", "10.20.3.4"),
            "v6.leaky.example.com": ("AAAA", "fd12:3456:789a::1"),
            "www.leaky.example.com": ("A", "203.0.113.10"),
        },
    )
    clean = _zone(aws, "clean.example.com", {"www.clean.example.com": ("A", "198.51.100.7")})
    internal = _zone(aws, "corp.internal", {"db.corp.internal": ("A", "10.1.2.3")}, private=True)
    findings = collect(sqlite_store, aws, ["route53"]).of(CHECK)
    assert findings[leaky].status == FAIL
    assert "db.leaky.example.com. A 10.20.3.4" in findings[leaky].reason
    assert "fd12:3456:789a::1" in findings[leaky].reason and "203.0.113.10" not in findings[leaky].reason
    assert findings[clean].status == PASS
    assert findings[internal].status == NA


def test_a_refused_record_listing_is_an_error(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    zone = _zone(aws, "clean.example.com", {"www.clean.example.com": ("A", "198.51.100.7")})
    refuse(aws, "route53.ListResourceRecordSets")
    outcome = collect(sqlite_store, aws, ["route53"])
    finding = outcome.of(CHECK)[zone]
    assert finding.status == ERROR and "ListResourceRecordSets" in finding.reason
    assert [g.operation for g in outcome.gaps()] == ["ListResourceRecordSets"]


def test_no_zones_is_not_applicable_and_a_refused_zone_listing_an_error(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    [none] = collect(sqlite_store, aws, ["route53"]).of(CHECK).values()
    assert none.status == NA and none.reason == "no hosted zones"
    refuse(aws, "route53.ListHostedZones")
    [refused] = collect(sqlite_store, aws, ["route53"]).of(CHECK).values()
    assert refused.status == ERROR and "ListHostedZones" in refused.reason


def test_scenario_public_zones(collected: Collected) -> None:
    ids = collected.estate.ids
    assert collected.finding(CHECK, ids["public_zone"]).status == PASS
    leaky = collected.finding(CHECK, ids["leaky_zone"])
    assert leaky.status == FAIL and leaky.reason.endswith("db.member-a.example.com. A 172.31.5.20")
    assert leaky.account_id == collected.estate.member_a
