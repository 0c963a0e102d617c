"""route53.no_private_addresses_in_public_zones and route53.mail_domains_dmarc_enforced, collected from moto and
evaluated: a public zone publishing an RFC 1918 or RFC 4193 address fails naming it, one publishing only public
addresses passes, a private zone is not_applicable, and a refused record listing is an error for the zone, never a
pass. A mail domain passes only with one SPF policy ending -all or ~all and an enforcing DMARC policy of its own or
inherited from a parent domain's zone; one it cannot place under any policy is an error."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from auditpack.estate.route53 import HostedZone, MailDomain, plant_hosted_zone
from auditpack.estate.target import Target
from evidence.checks.types import FindingStatus
from evidence.store import EvidenceStore
from tests.evidence.collectors.harness import REGION, collect, refuse
from tests.moto_server import fake_aws_env
from tests.scenario import Collected

PASS, FAIL, NA, ERROR = FindingStatus.PASS, FindingStatus.FAIL, FindingStatus.NOT_APPLICABLE, FindingStatus.ERROR
CHECK = "route53.no_private_addresses_in_public_zones"
MAIL = "route53.mail_domains_dmarc_enforced"
MX = ("10 inbound-smtp.us-east-1.amazonaws.com",)


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
    for check in (CHECK, MAIL):  # one listing feeds both: each says why its evidence is missing
        finding = outcome.of(check)[zone]
        assert finding.status == ERROR and "ListResourceRecordSets" in finding.reason
    assert sorted((g.operation, g.kind) for g in outcome.gaps()) == [
        ("ListResourceRecordSets", "route53.address_records"),
        ("ListResourceRecordSets", "route53.mail_records"),
    ]


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


def _mail_zones(session: boto3.Session, *zones: HostedZone) -> dict[str, str]:
    target = Target.of(session, REGION)
    return {zone.name: plant_hosted_zone(target, zone) for zone in zones}


def test_mail_domains_pass_only_with_spf_and_an_enforcing_dmarc_policy(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    ids = _mail_zones(
        aws,
        HostedZone(
            name="good.test", mail=(MailDomain(name="good.test", mx=MX, dmarc="v=DMARC1; p=reject; sp=quarantine"),)
        ),
        # a subdomain zone without its own DMARC record: the parent's sp= applies
        HostedZone(name="eu.good.test", mail=(MailDomain(name="eu.good.test", mx=MX, dmarc=None),)),
        HostedZone(
            name="weak.test",
            mail=(
                MailDomain(name="weak.test", mx=MX, spf="v=spf1 include:mail.weak.test +all", dmarc="v=DMARC1; p=none"),
            ),
        ),
        HostedZone(
            name="nodmarc.test", mail=(MailDomain(name="nodmarc.test", mx=MX, spf="v=spf1 mx ~all", dmarc=None),)
        ),
        HostedZone(name="sampled.test", mail=(MailDomain(name="sampled.test", dmarc="v=DMARC1; p=reject; pct=50"),)),
        HostedZone(name="orphan.example.org", mail=(MailDomain(name="orphan.example.org", mx=MX, dmarc=None),)),
        HostedZone(name="nullmx.test", mail=(MailDomain(name="nullmx.test", mx=("0 .",), spf=None, dmarc=None),)),
    )
    outcome = collect(sqlite_store, aws, ["route53"])
    found = outcome.of(MAIL)
    good, sub, weak = found[ids["good.test"]], found[ids["eu.good.test"]], found[ids["weak.test"]]
    assert (good.status, good.reason) == (
        PASS,
        "receivers are told to reject mail spoofing good.test (SPF -all, DMARC p=reject)",
    )
    assert sub.status == PASS and sub.reason.endswith("eu.good.test (SPF -all, DMARC sp=quarantine from good.test)")
    # the verdict rests on the parent zone's records too
    mail = outcome.evidence("route53.mail_records")
    assert {mail[arn].sha256 for arn in mail if arn.endswith(ids["good.test"])} <= set(sub.evidence)
    assert weak.status == FAIL
    assert weak.reason == (
        "weak.test's SPF record ends with +all (every sender passes); "
        "weak.test's DMARC policy is p=none, which only reports: spoofed mail is delivered"
    )
    nodmarc = found[ids["nodmarc.test"]]
    assert (nodmarc.status, nodmarc.reason) == (FAIL, "nodmarc.test publishes no DMARC record (_dmarc.nodmarc.test)")
    sampled = found[ids["sampled.test"]]
    assert sampled.status == FAIL and "applies to 50% of failing mail only" in sampled.reason  # SPF only, no MX
    orphan = found[ids["orphan.example.org"]]
    assert orphan.status == ERROR and orphan.reason.startswith("cannot decide: orphan.example.org publishes no DMARC")
    assert found[ids["nullmx.test"]].status == NA  # a null MX and no SPF: the domain refuses mail, sends none


def test_two_spf_records_fail_and_a_parent_policy_that_only_reports_fails_the_subdomain(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    ids = _mail_zones(
        aws,
        HostedZone(
            name="parent.test", mail=(MailDomain(name="parent.test", spf=None, dmarc="v=DMARC1; p=reject; sp=none"),)
        ),
        HostedZone(name="shop.parent.test", mail=(MailDomain(name="shop.parent.test", mx=MX, spf=None, dmarc=None),)),
    )
    spf = ['"v=spf1 include:amazonses.com -all"', '"v=spf1 include:_spf.example.net -all"']
    record = {"Name": "shop.parent.test", "Type": "TXT", "TTL": 300, "ResourceRecords": [{"Value": v} for v in spf]}
    aws.client("route53").change_resource_record_sets(
        HostedZoneId=ids["shop.parent.test"],
        ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": record}]},
    )
    found = collect(sqlite_store, aws, ["route53"]).of(MAIL)
    assert found[ids["parent.test"]].status == NA  # a DMARC record alone: it neither receives nor declares senders
    shop = found[ids["shop.parent.test"]]
    assert shop.status == FAIL
    assert shop.reason == (
        "shop.parent.test publishes 2 SPF records (receivers treat that as a permanent error); "
        "shop.parent.test's DMARC policy (from parent.test) is sp=none, which only reports: spoofed mail is delivered"
    )


def test_scenario_mail_domains(collected: Collected) -> None:
    ids = collected.estate.ids
    shop = collected.finding(MAIL, ids["public_zone"])
    assert shop.status == PASS and "shop.example.com (SPF -all, DMARC p=reject)" in shop.reason
    member = collected.finding(MAIL, ids["leaky_zone"])
    assert member.status == FAIL and member.reason == (
        "member-a.example.com's DMARC policy is p=none, which only reports: spoofed mail is delivered"
    )
