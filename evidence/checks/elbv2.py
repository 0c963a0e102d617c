"""The elbv2.* checks: TLS on load balancer listeners, WAF in front of internet-facing Application Load Balancers,
access logs (metadata in elbv2.yaml)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from evidence.checks.types import Finding
from evidence.checks.unit import Check, each
from evidence.store import EvidenceRecord

LB, LISTENERS, POLICIES, WAF = (
    "elbv2.load_balancer",
    "elbv2.listeners",
    "elbv2.ssl_policies",
    "wafv2.web_acl_for_resource",
)
STRONG_PROTOCOLS = frozenset({"TLSv1.2", "TLSv1.3"})
NO_LOAD_BALANCERS = "no load balancers in this region"


def redirects_to_https(listener: dict[str, Any]) -> bool:
    actions = listener.get("DefaultActions") or []
    return bool(actions) and all(
        a.get("Type") == "redirect" and (a.get("RedirectConfig") or {}).get("Protocol") == "HTTPS" for a in actions
    )


@each(
    LB,
    resource_type="load-balancer",
    what="load balancer details",
    reads=(LISTENERS, POLICIES),
    empty=NO_LOAD_BALANCERS,
)
def listener_tls(c: Check, lb: EvidenceRecord) -> Iterator[Finding]:
    """One finding per listener: HTTPS/TLS with a policy allowing TLS 1.2 or later only, or HTTP redirecting
    to HTTPS. TCP, UDP and GENEVE listeners pass traffic through and are not judged here."""
    record = c.need(LISTENERS, base=lb, resource_type="load-balancer", what="listeners")
    for listener in record.payload.get("Listeners", []):
        where = {"resource_id": listener.get("ListenerArn", lb.resource_id), "resource_type": "listener"}
        protocol, port = listener.get("Protocol"), listener.get("Port")
        if protocol == "HTTP":
            if redirects_to_https(listener):
                yield c.passed(record, f"HTTP :{port} only redirects to HTTPS", **where)
            else:
                yield c.failed(record, f"HTTP :{port} serves plain-text traffic", **where)
            continue
        if protocol not in ("HTTPS", "TLS"):
            yield c.not_applicable(record, f"{protocol} :{port} passes traffic through unterminated", **where)
            continue
        with c.item():
            policies = c.setting(POLICIES, lb.account_id, lb.region, what="TLS policy definitions", **where)
            name = listener.get("SslPolicy")
            policy = next((p for p in policies.payload.get("SslPolicies", []) if p.get("Name") == name), None)
            if policy is None:
                yield c.error(
                    record, f"cannot decide: policy {name} is not among the policies read", also=[policies], **where
                )
                continue
            weak = sorted(set(policy.get("SslProtocols") or []) - STRONG_PROTOCOLS)
            if weak:
                yield c.failed(
                    record, f"{protocol} :{port} policy {name} allows {', '.join(weak)}", also=[policies], **where
                )
            else:
                allowed = ", ".join(sorted(policy.get("SslProtocols") or []))
                yield c.passed(
                    record, f"{protocol} :{port} policy {name} allows {allowed} only", also=[policies], **where
                )


@each(LB, resource_type="load-balancer", what="load balancer details", reads=(WAF,), empty=NO_LOAD_BALANCERS)
def waf_attached(c: Check, lb: EvidenceRecord) -> Finding:
    kind, scheme = lb.payload.get("Type"), lb.payload.get("Scheme")
    if kind != "application" or scheme != "internet-facing":
        return c.not_applicable(lb, f"an {scheme} {kind} load balancer (WAF protects internet-facing ALBs)")
    acl = c.need(WAF, base=lb, resource_type="load-balancer", what="web ACL association")
    if (acl.payload.get("WebACL") or {}).get("ARN"):
        return c.passed(lb, f"protected by web ACL {acl.payload['WebACL'].get('Name')}", also=[acl])
    return c.failed(lb, "no WAF web ACL is associated", also=[acl])


@each(
    LB,
    resource_type="load-balancer",
    what="load balancer details",
    reads=("elbv2.load_balancer_attributes",),
    empty=NO_LOAD_BALANCERS,
)
def access_logs_enabled(c: Check, lb: EvidenceRecord) -> Finding:
    if lb.payload.get("Type") == "gateway":
        return c.not_applicable(lb, "Gateway Load Balancers write no access logs")
    attributes = c.need("elbv2.load_balancer_attributes", base=lb, what="load balancer attributes")
    values = {a.get("Key"): a.get("Value") for a in attributes.payload.get("Attributes") or []}
    enabled = values.get("access_logs.s3.enabled")
    if enabled == "true":
        where = f"s3://{values.get('access_logs.s3.bucket')}/{values.get('access_logs.s3.prefix') or ''}"
        return c.passed(lb, f"access logs go to {where}", also=[attributes])
    if enabled == "false":
        return c.failed(lb, "access logging is off", also=[attributes])
    return c.error(lb, "cannot decide: the attributes do not say whether access logs are on", also=[attributes])
