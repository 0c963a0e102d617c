"""Amazon Route 53: public hosted zones, their address records (an internal address published in one is the planted
problem route53.no_private_addresses_in_public_zones finds) and the mail records of the domains they serve (MX,
SPF and DMARC, judged by route53.mail_domains_dmarc_enforced)."""

from __future__ import annotations

from typing import Any

from auditpack.estate.target import Spec, Target


class AddressRecord(Spec):
    name: str  # fully qualified, e.g. portal.acme-health.example
    value: str  # an IPv4 (A) or IPv6 (AAAA) address
    ttl: int = 300


class MailDomain(Spec):
    """The mail records of one name of the zone. The defaults describe a domain whose mail receivers can tell from
    spoofed mail: one SPF policy ending in -all and a DMARC policy rejecting what fails. None publishes nothing."""

    name: str  # fully qualified, e.g. acme-health.example
    mx: tuple[str, ...] = ()  # MX values, e.g. "10 inbound-smtp.us-east-1.amazonaws.com"
    spf: str | None = "v=spf1 include:amazonses.com -all"
    dmarc: str | None = "v=DMARC1; p=reject; rua=mailto:dmarc-reports@example.com"
    ttl: int = 300


class HostedZone(Spec):
    name: str
    records: tuple[AddressRecord, ...] = ()
    mail: tuple[MailDomain, ...] = ()


def _record(name: str, kind: str, values: list[str], ttl: int) -> dict[str, Any]:
    return {
        "Action": "CREATE",
        "ResourceRecordSet": {
            "Name": name,
            "Type": kind,
            "TTL": ttl,
            "ResourceRecords": [{"Value": v} for v in values],
        },
    }


def _mail_changes(domain: MailDomain) -> list[dict[str, Any]]:
    changes = [_record(domain.name, "MX", list(domain.mx), domain.ttl)] if domain.mx else []
    if domain.spf is not None:
        changes.append(_record(domain.name, "TXT", [f'"{domain.spf}"'], domain.ttl))
    if domain.dmarc is not None:
        changes.append(_record(f"_dmarc.{domain.name}", "TXT", [f'"{domain.dmarc}"'], domain.ttl))
    return changes


def plant_hosted_zone(target: Target, zone: HostedZone) -> str:
    """The public zone with its A/AAAA and mail records (one change batch); its id (without the /hostedzone/
    prefix)."""
    route53 = target.client("route53")
    zone_id = str(route53.create_hosted_zone(Name=zone.name, CallerReference=zone.name)["HostedZone"]["Id"])
    changes = [
        _record(record.name, "AAAA" if ":" in record.value else "A", [record.value], record.ttl)
        for record in zone.records
    ]
    changes += [change for domain in zone.mail for change in _mail_changes(domain)]
    if changes:
        route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
    target.count("Route 53 hosted zones")
    return zone_id.rsplit("/", 1)[-1]
