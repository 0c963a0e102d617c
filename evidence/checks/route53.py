"""The route53.* checks: public hosted zones disclose no internal addresses, and the mail domains they serve tell
receivers to reject mail spoofing them (metadata in route53.yaml)."""

from __future__ import annotations

import ipaddress

from evidence.checks._mail import Dmarc, ZoneNames, name_of, spf_ending, spf_problem
from evidence.checks.types import Finding
from evidence.checks.unit import Check, each
from evidence.store import EvidenceRecord

ZONE = "route53.hosted_zone"
ADDRESSES = "route53.address_records"
MAIL = "route53.mail_records"


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


def _private(zone: EvidenceRecord) -> bool:
    return bool((zone.payload.get("Config") or {}).get("PrivateZone"))


class _Lookup:
    """DMARC records as receivers find them, from the account's public zones: `_dmarc.<domain>` in the zone that
    is authoritative for it (the longest zone name it ends with)."""

    def __init__(self, c: Check, zone: EvidenceRecord, records: EvidenceRecord) -> None:
        self.c, self.account_id = c, zone.account_id
        self.zones = {
            name_of(z.payload.get("Name", "")): z
            for z in c.view.items(ZONE)
            if z.account_id == zone.account_id and not _private(z)
        }
        self.records = {zone.resource_id: records}  # mail records by zone, as read
        self.names = {zone.resource_id: ZoneNames.of(records.payload.get("ResourceRecordSets", []))}
        self.unread: list[str] = []  # zones whose mail records were not collected
        self.relied_on: dict[str, EvidenceRecord] = {}  # other zones whose DMARC policy a verdict rests on

    def dmarc(self, domain: str) -> list[str] | None:
        host = f"_dmarc.{domain}"
        zone = max((z for z in self.zones if host.endswith(f".{z}")), key=len, default=None)
        if zone is None:
            return None
        key = self.zones[zone].resource_id
        if key not in self.names:
            mail = self.c.view.one(MAIL, self.account_id, key)
            if mail is None:
                self.unread.append(zone)
                return None
            self.records[key] = mail
            self.names[key] = ZoneNames.of(mail.payload.get("ResourceRecordSets", []))
        found = self.names[key].dmarc(domain)
        if found:
            self.relied_on[key] = self.records[key]
        return found

    def policy(self, name: str) -> Dmarc | None:
        """The name's own DMARC record, else the nearest parent domain's (down to two labels)."""
        self.unread = []
        own = self.dmarc(name)
        if own:
            return Dmarc(own, name, inherited=False)
        labels = name.split(".")
        for i in range(1, len(labels) - 1):
            parent = ".".join(labels[i:])
            found = self.dmarc(parent)
            if found:
                return Dmarc(found, parent, inherited=True)
        return None


@each(ZONE, resource_type="hosted-zone", what="hosted zone", regional=False, reads=(MAIL,), empty="no hosted zones")
def mail_domains_dmarc_enforced(c: Check, zone: EvidenceRecord) -> Finding:
    name = zone.payload.get("Name", "")
    if _private(zone):
        return c.not_applicable(zone, f"{name} is a private hosted zone: no mail receiver outside its VPCs reads it")
    records = c.need(MAIL, base=zone, what="the zone's mail records")
    lookup = _Lookup(c, zone, records)
    names = lookup.names[zone.resource_id]
    domains = names.mail_names()
    if not domains:
        return c.not_applicable(
            records, f"no name in {name} receives mail (MX) or declares its senders (SPF)", also=[zone]
        )
    problems: list[str] = []
    undecided: list[str] = []
    summary: list[str] = []
    for domain in domains:
        spf = names.spf(domain)
        problem = spf_problem(domain, spf)
        if problem:
            problems.append(problem)
        policy = lookup.policy(domain)
        if policy is None:
            if lookup.unread:
                undecided.append(f"{domain}: the mail records of {', '.join(sorted(set(lookup.unread)))} were not read")
            elif len(domain.split(".")) > 2:
                undecided.append(
                    f"{domain} publishes no DMARC record and no parent domain in this account's public zones does "
                    "(its organisational domain's policy, if hosted elsewhere, may apply)"
                )
            else:
                problems.append(f"{domain} publishes no DMARC record (_dmarc.{domain})")
            continue
        problem = policy.problem(domain)
        if problem:
            problems.append(problem)
        elif not spf_problem(domain, spf):
            summary.append(f"{domain} (SPF {spf_ending(spf)}, {policy.describe()})")
    also = [zone, *(r for key, r in lookup.relied_on.items() if key != zone.resource_id)]
    if problems:
        return c.failed(records, "; ".join(problems[:5]), also=also)
    if undecided:
        return c.error(records, "cannot decide: " + "; ".join(undecided[:5]), also=also)
    return c.passed(records, "receivers are told to reject mail spoofing " + ", ".join(summary[:5]), also=also)
