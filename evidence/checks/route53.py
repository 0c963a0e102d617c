"""The route53.* checks: public hosted zones disclose no internal addresses (metadata in route53.yaml)."""

from __future__ import annotations

import ipaddress

from evidence.checks.types import Finding
from evidence.checks.unit import Check, each
from evidence.store import EvidenceRecord

ZONE = "route53.hosted_zone"
ADDRESSES = "route53.address_records"


# Ranges only a private network reaches (RFC 1918, RFC 6598 shared space, RFC 4193, link-local, loopback); listed
# rather than ipaddress's is_private, which also counts the documentation ranges, reachable names in examples.
_INTERNAL = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "169.254.0.0/16",
        "127.0.0.0/8",
        "fc00::/7",
        "fe80::/10",
        "::1/128",
    )
)


def _internal(value: str) -> bool:
    """Whether a record's value is an internal address, whose publication maps the internal network."""
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return False
    return any(address in network for network in _INTERNAL if network.version == address.version)


@each(
    ZONE, resource_type="hosted-zone", what="hosted zone", regional=False, reads=(ADDRESSES,), empty="no hosted zones"
)
def no_private_addresses_in_public_zones(c: Check, zone: EvidenceRecord) -> Finding:
    name = zone.payload.get("Name", "")
    if (zone.payload.get("Config") or {}).get("PrivateZone"):
        return c.not_applicable(zone, f"{name} is a private hosted zone, resolvable only from its VPCs")
    records = c.need(ADDRESSES, base=zone, what="the zone's address records")
    exposed = [
        f"{r.get('Name')} {r.get('Type')} {value['Value']}"
        for r in records.payload.get("ResourceRecordSets", [])
        for value in r.get("ResourceRecords") or []
        if _internal(str(value.get("Value", "")))
    ]
    if exposed:
        return c.failed(records, "public zone publishes internal addresses: " + "; ".join(exposed[:5]), also=[zone])
    count = len(records.payload.get("ResourceRecordSets", []))
    return c.passed(records, f"none of the public zone's {count} A/AAAA records is an internal address", also=[zone])
