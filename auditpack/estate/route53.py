"""Amazon Route 53: public hosted zones and their address records (an internal address published in one is the
planted problem route53.no_private_addresses_in_public_zones finds)."""

from __future__ import annotations

from auditpack.estate.target import Spec, Target


class AddressRecord(Spec):
    name: str  # fully qualified, e.g. portal.acme-health.example
    value: str  # an IPv4 (A) or IPv6 (AAAA) address
    ttl: int = 300


class HostedZone(Spec):
    name: str
    records: tuple[AddressRecord, ...] = ()


def plant_hosted_zone(target: Target, zone: HostedZone) -> str:
    """The public zone with its A/AAAA records; its id (without the /hostedzone/ prefix)."""
    route53 = target.client("route53")
    zone_id = str(route53.create_hosted_zone(Name=zone.name, CallerReference=zone.name)["HostedZone"]["Id"])
    changes = [
        {
            "Action": "CREATE",
            "ResourceRecordSet": {
                "Name": record.name,
                "Type": "AAAA" if ":" in record.value else "A",
                "TTL": record.ttl,
                "ResourceRecords": [{"Value": record.value}],
            },
        }
        for record in zone.records
    ]
    if changes:
        route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
    target.count("Route 53 hosted zones")
    return zone_id.rsplit("/", 1)[-1]
