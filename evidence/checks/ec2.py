"""The ec2.* checks: EBS encryption, instance metadata service v2, VPC flow logs, admin ports open to the
internet, EBS snapshots neither public nor unencrypted (metadata in ec2.yaml)."""

from __future__ import annotations

from typing import Any

from evidence.checks.types import Finding
from evidence.checks.unit import Check, each, per_region
from evidence.checks.verdicts import setting_id
from evidence.store import EvidenceRecord

INSTANCE, VOLUME, VPC, SECURITY_GROUP = "ec2.instance", "ec2.volume", "ec2.vpc", "ec2.security_group"
EBS_DEFAULT, FLOW_LOGS = "ec2.ebs_encryption_by_default", "ec2.flow_logs"
OPEN_V4, OPEN_V6 = "0.0.0.0/0", "::/0"
_PROTOCOLS = {"-1": "all", "tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp"}


@per_region(reads=(EBS_DEFAULT,))
def ebs_default_encryption(c: Check, account_id: str, region: str) -> Finding:
    record = c.setting(
        EBS_DEFAULT,
        account_id,
        region,
        resource_id=setting_id(account_id, region, "ebs-encryption-by-default"),
        resource_type="ebs-encryption-by-default",
        what="EBS encryption-by-default setting",
    )
    if record.payload.get("EbsEncryptionByDefault") is True:
        return c.passed(record, "new EBS volumes are encrypted by default in this region")
    return c.failed(record, "EBS encryption by default is off in this region")


@each(VOLUME, resource_type="volume", what="volume details")
def ebs_volume_encrypted(c: Check, volume: EvidenceRecord) -> Finding:
    if volume.payload.get("Encrypted") is True:
        return c.passed(volume, "the volume is encrypted")
    return c.failed(volume, "the volume is not encrypted")


@each(INSTANCE, resource_type="instance", what="instance details")
def imdsv2_required(c: Check, instance: EvidenceRecord) -> Finding:
    options = instance.payload.get("MetadataOptions")
    if not isinstance(options, dict) or "HttpTokens" not in options:
        return c.error(instance, "cannot decide: the instance description has no metadata options")
    if options.get("HttpEndpoint") == "disabled":
        return c.passed(instance, "the instance metadata service is disabled")
    if options.get("HttpTokens") == "required":
        return c.passed(instance, "the metadata service requires session tokens (IMDSv2)")
    return c.failed(instance, "the metadata service answers token-less IMDSv1 requests")


@each(VPC, resource_type="vpc", what="VPC details", reads=(FLOW_LOGS,))
def vpc_flow_logs_enabled(c: Check, vpc: EvidenceRecord) -> Finding:
    flow_logs = c.setting(
        FLOW_LOGS,
        vpc.account_id,
        vpc.region,
        resource_id=vpc.resource_id,
        resource_type="vpc",
        what="flow log listing",
    )
    vpc_id = vpc.payload.get("VpcId")
    active = [
        f
        for f in flow_logs.payload.get("FlowLogs", [])
        if f.get("ResourceId") == vpc_id and f.get("FlowLogStatus") == "ACTIVE"
    ]
    if active:
        return c.passed(vpc, f"flow log {active[0].get('FlowLogId')} is active", also=[flow_logs])
    return c.failed(vpc, "the VPC has no active flow log", also=[flow_logs])


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


@each(SECURITY_GROUP, resource_type="security-group", what="security group rules")
def sg_no_admin_ports_open(c: Check, group: EvidenceRecord) -> Finding:
    ports = c.thresholds.admin_ports
    exposed = open_admin_ports(group.payload, ports)
    if exposed:
        return c.failed(group, "ingress allows " + ", ".join(exposed))
    return c.passed(group, f"no ingress rule opens {' or '.join(map(str, ports))} to the internet")


SNAPSHOT, SNAPSHOT_PERMISSION = "ec2.snapshot", "ec2.snapshot_create_volume_permission"
snapshots = {"resource_type": "snapshot", "what": "snapshot details", "empty": "no EBS snapshots owned here"}


@each(SNAPSHOT, reads=(SNAPSHOT_PERMISSION,), **snapshots)
def ebs_snapshots_not_public(c: Check, snapshot: EvidenceRecord) -> Finding:
    permission = c.need(SNAPSHOT_PERMISSION, base=snapshot, what="snapshot createVolumePermission")
    grants = permission.payload.get("CreateVolumePermissions") or []
    if any(g.get("Group") == "all" for g in grants):
        return c.failed(snapshot, "public: any AWS account may create a volume from it", also=[permission])
    accounts = sorted(str(g["UserId"]) for g in grants if g.get("UserId"))
    if accounts:
        return c.passed(snapshot, f"not public; shared with account(s) {', '.join(accounts)}", also=[permission])
    return c.passed(snapshot, "not shared with any other account", also=[permission])


@each(SNAPSHOT, **snapshots)
def ebs_snapshots_encrypted(c: Check, snapshot: EvidenceRecord) -> Finding:
    if snapshot.payload.get("Encrypted") is True:
        key = snapshot.payload.get("KmsKeyId")
        return c.passed(snapshot, f"encrypted with {key}" if key else "encrypted")
    volume = snapshot.payload.get("VolumeId") or "a volume"
    return c.failed(snapshot, f"unencrypted: a copy of {volume}'s data readable by whoever may restore it")
