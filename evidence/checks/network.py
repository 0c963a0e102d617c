"""Network checks: admin ports open to the internet, publicly accessible databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from evidence.checks.registry import check
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import Finding
from evidence.checks.verdicts import FAIL, PASS, listed_records, verdict
from evidence.checks.view import EvidenceView

OPEN_V4, OPEN_V6 = "0.0.0.0/0", "::/0"
_PROTOCOLS = {"-1": "all", "tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp"}


def open_admin_ports(group: dict[str, Any], ports: tuple[int, ...]) -> list[str]:
    """Ingress rules that open any of `ports` to the whole internet, e.g. ``tcp 22 from 0.0.0.0/0``."""
    found = []
    for permission in group.get("IpPermissions", []):
        protocol = _PROTOCOLS.get(str(permission.get("IpProtocol")))
        if protocol is None:
            continue
        low, high = permission.get("FromPort"), permission.get("ToPort")
        if protocol == "all" or low in (None, -1):
            exposed = list(ports)
        else:
            exposed = [p for p in ports if low <= p <= (high if high is not None else low)]
        sources = [r.get("CidrIp") for r in permission.get("IpRanges", []) if r.get("CidrIp") == OPEN_V4]
        sources += [r.get("CidrIpv6") for r in permission.get("Ipv6Ranges", []) if r.get("CidrIpv6") == OPEN_V6]
        found += [f"{protocol} {port} from {source}" for port in exposed for source in sources]
    return found


@check("ec2.sg_no_admin_ports_open", kinds=("ec2.security_group",), regional=True)
def sg_no_admin_ports_open(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "ec2.sg_no_admin_ports_open"
    ports = thresholds.admin_ports
    for group in listed_records(
        view, check_id, "ec2.security_group", resource_type="security-group", what="security group rules"
    ):
        if isinstance(group, Finding):
            yield group
            continue
        exposed = open_admin_ports(group.payload, ports)
        if exposed:
            yield verdict(check_id, FAIL, group, "ingress allows " + ", ".join(exposed))
        else:
            yield verdict(
                check_id, PASS, group, f"no ingress rule opens {' or '.join(map(str, ports))} to the internet"
            )


@check("rds.not_publicly_accessible", kinds=("rds.db_instance",), regional=True)
def not_publicly_accessible(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "rds.not_publicly_accessible"
    for db in listed_records(
        view, check_id, "rds.db_instance", resource_type="db-instance", what="DB instance details"
    ):
        if isinstance(db, Finding):
            yield db
        elif db.payload.get("PubliclyAccessible") is True:
            yield verdict(check_id, FAIL, db, "the instance has a public endpoint")
        else:
            yield verdict(check_id, PASS, db, "the instance is not publicly accessible")
