"""The eks.* checks: EKS control planes log every type and keep their API endpoint off the open internet
(metadata in eks.yaml)."""

from __future__ import annotations

import ipaddress

from evidence.checks.types import Finding
from evidence.checks.unit import Check, each
from evidence.store import EvidenceRecord

CLUSTER = "eks.cluster"
LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")


@each(CLUSTER, resource_type="cluster", what="EKS cluster description")
def control_plane_logging(c: Check, cluster: EvidenceRecord) -> Finding:
    logging = cluster.payload.get("logging")
    if not isinstance(logging, dict):
        return c.error(cluster, "cannot decide: the cluster description has no logging configuration")
    enabled = {
        kind
        for entry in logging.get("clusterLogging") or []
        if entry.get("enabled")
        for kind in entry.get("types") or []
    }
    missing = [kind for kind in LOG_TYPES if kind not in enabled]
    if missing:
        return c.failed(cluster, f"control-plane logs not sent to CloudWatch Logs: {', '.join(missing)}")
    return c.passed(cluster, f"every control-plane log type ({', '.join(LOG_TYPES)}) is sent to CloudWatch Logs")


def _open_to_all(cidr: str) -> bool:
    """A CIDR admitting every address (0.0.0.0/0 or ::/0); an unreadable one is treated as open."""
    try:
        return ipaddress.ip_network(cidr, strict=False).prefixlen == 0
    except ValueError:
        return True


@each(CLUSTER, resource_type="cluster", what="EKS cluster description")
def endpoint_not_public(c: Check, cluster: EvidenceRecord) -> Finding:
    config = cluster.payload.get("resourcesVpcConfig")
    public = config.get("endpointPublicAccess") if isinstance(config, dict) else None
    if not isinstance(public, bool):
        return c.error(cluster, "cannot decide: the cluster description does not say whether its endpoint is public")
    if not public:
        return c.passed(cluster, "the Kubernetes API endpoint is private (reachable only from the VPC)")
    # AWS answers publicAccessCidrs ["0.0.0.0/0"] when no list was set: a missing list is the open default.
    cidrs = config.get("publicAccessCidrs") or ["0.0.0.0/0"]
    if any(_open_to_all(str(cidr)) for cidr in cidrs):
        return c.failed(cluster, "the Kubernetes API endpoint is public and accepts connections from any address")
    return c.passed(cluster, f"the Kubernetes API endpoint is public but only to {', '.join(map(str, cidrs))}")
