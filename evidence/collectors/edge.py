"""The internet edge: load balancer listeners (protocols, TLS policies) and attributes (access logs), the WAF web
ACL in front of each internet-facing Application Load Balancer, ACM certificates (expiry, key algorithm, use), and
the public DNS of Route 53 hosted zones (the addresses they publish, the mail records that say who may send mail
in a domain's name)."""

from __future__ import annotations

from typing import Any

from evidence.collectors.context import CollectorContext, setting_id
from evidence.collectors.registry import Scope, collector

_TLS_PROTOCOLS = {"HTTPS", "TLS"}


@collector(
    "load_balancers",
    produces=(
        "elbv2.listeners",
        "elbv2.load_balancer",
        "elbv2.load_balancer_attributes",
        "elbv2.ssl_policies",
        "wafv2.web_acl_for_resource",
    ),
    domain="network",
    scope=Scope.REGIONAL,
    calls=(
        "elbv2.DescribeLoadBalancers",
        "elbv2.DescribeListeners",
        "elbv2.DescribeSSLPolicies",
        "elbv2.DescribeLoadBalancerAttributes",
        "wafv2.GetWebACLForResource",
    ),
)
def collect_load_balancers(ctx: CollectorContext) -> None:
    balancers = ctx.paginate("elbv2.DescribeLoadBalancers", kind="elbv2.load_balancer", result_key="LoadBalancers")
    if balancers is None:
        return
    ctx.listing(
        kind="elbv2.load_balancer",
        call="elbv2.DescribeLoadBalancers",
        resource_ids=[b["LoadBalancerArn"] for b in balancers],
    )
    policies: set[str] = set()
    for balancer in balancers:
        arn = balancer["LoadBalancerArn"]
        common: dict[str, Any] = {"resource_type": "load-balancer", "resource_id": arn, "tag_arn": arn}
        ctx.record(kind="elbv2.load_balancer", payload=balancer, **common)
        # Listeners are read per load balancer: DescribeListeners takes one load balancer (or listener ARNs).
        listeners = ctx.paginate(
            "elbv2.DescribeListeners",
            kind="elbv2.listeners",
            result_key="Listeners",
            resource_id=arn,
            LoadBalancerArn=arn,
        )
        if listeners is not None:
            ctx.record(kind="elbv2.listeners", payload={"LoadBalancerArn": arn, "Listeners": listeners}, **common)
            policies |= {
                x["SslPolicy"] for x in listeners if x.get("Protocol") in _TLS_PROTOCOLS and x.get("SslPolicy")
            }
        # Attributes (access logs and where they go, deletion protection...) have no list call: one read each.
        attributes = ctx.call(
            "elbv2.DescribeLoadBalancerAttributes",
            kind="elbv2.load_balancer_attributes",
            resource_id=arn,
            LoadBalancerArn=arn,
        )
        if attributes is not None:
            ctx.record(
                kind="elbv2.load_balancer_attributes",
                payload={"LoadBalancerArn": arn, "Attributes": attributes.get("Attributes", [])},
                **common,
            )
        if balancer.get("Type") == "application" and balancer.get("Scheme") == "internet-facing":
            acl = ctx.call(
                "wafv2.GetWebACLForResource", kind="wafv2.web_acl_for_resource", resource_id=arn, ResourceArn=arn
            )
            if acl is not None:
                ctx.record(kind="wafv2.web_acl_for_resource", payload=acl, **common)
    if policies:
        # What each policy in use allows (protocols, ciphers), as AWS defines it: one read for the region.
        described = ctx.paginate(
            "elbv2.DescribeSSLPolicies", kind="elbv2.ssl_policies", result_key="SslPolicies", Names=sorted(policies)
        )
        if described is not None:
            ctx.record(
                kind="elbv2.ssl_policies",
                resource_type="ssl-policies",
                resource_id=setting_id(ctx.account_id, ctx.region, "elbv2-ssl-policies"),
                payload={"SslPolicies": described},
                tags={},
            )


@collector(
    "acm", produces=("acm.certificate",), domain="encryption", scope=Scope.REGIONAL, calls=("acm.ListCertificates",)
)
def collect_acm(ctx: CollectorContext) -> None:
    # Without Includes, ListCertificates returns RSA-2048 certificates only: ask for every key type there is.
    key_types = list(ctx.client("acm").meta.service_model.shape_for("KeyAlgorithm").enum)
    certificates = ctx.paginate(
        "acm.ListCertificates",
        kind="acm.certificate",
        result_key="CertificateSummaryList",
        Includes={"keyTypes": key_types},
    )
    if certificates is None:
        return
    for certificate in certificates:
        arn = certificate["CertificateArn"]
        ctx.record(
            kind="acm.certificate", resource_type="certificate", resource_id=arn, payload=certificate, tag_arn=arn
        )
    ctx.listing(
        kind="acm.certificate", call="acm.ListCertificates", resource_ids=[c["CertificateArn"] for c in certificates]
    )


_ADDRESS_TYPES = ("A", "AAAA")
_RECORD_FIELDS = ("Name", "Type", "ResourceRecords", "AliasTarget")


def _mail_record(record: dict[str, Any]) -> bool:
    """MX records, and the TXT records of sender authentication: SPF policies (`v=spf1`, at any name) and DMARC
    policies (at `_dmarc.` names). Other TXT records (verification tokens, DKIM keys) are not kept."""
    if record.get("Type") == "MX":
        return True
    if record.get("Type") != "TXT":
        return False
    if str(record.get("Name", "")).lower().startswith("_dmarc."):
        return True
    return any("v=spf1" in str(v.get("Value", "")).lower() for v in record.get("ResourceRecords") or [])


@collector(
    "route53",
    produces=("route53.address_records", "route53.hosted_zone", "route53.mail_records"),
    domain="network",
    scope=Scope.GLOBAL,
    calls=("route53.ListHostedZones", "route53.ListResourceRecordSets"),
)
def collect_route53(ctx: CollectorContext) -> None:
    """Hosted zones and, per zone, its A and AAAA records (the addresses a public zone tells the internet) and its
    mail records (MX, SPF and DMARC: whether mail in the domain's name can be told from spoofed mail), both kept
    from the one listing of the zone's records."""
    zones = ctx.paginate("route53.ListHostedZones", kind="route53.hosted_zone", result_key="HostedZones")
    if zones is None:
        return
    arns = []
    for zone in zones:
        zone_id = str(zone["Id"]).rsplit("/", 1)[-1]
        arn = ctx.arn("route53", f"hostedzone/{zone_id}", region="", account="")
        arns.append(arn)
        common: dict[str, Any] = {"resource_type": "hosted-zone", "resource_id": arn, "tag_arn": arn}
        ctx.record(kind="route53.hosted_zone", payload=zone, **common)
        records = ctx.paginate(
            "route53.ListResourceRecordSets",
            kind="route53.address_records",
            result_key="ResourceRecordSets",
            resource_id=arn,
            HostedZoneId=zone_id,
        )
        if records is None:
            # One failed listing loses both kinds: the mail records are missing too, and must say why.
            code, message = ctx.last_error or ("UnknownError", "")
            ctx.gap("route53.ListResourceRecordSets", code, message, kind="route53.mail_records", resource_id=arn)
            continue
        addresses = [{k: r[k] for k in _RECORD_FIELDS if k in r} for r in records if r.get("Type") in _ADDRESS_TYPES]
        ctx.record(kind="route53.address_records", payload={"ResourceRecordSets": addresses}, **common)
        mail = [{k: r[k] for k in _RECORD_FIELDS if k in r} for r in records if _mail_record(r)]
        ctx.record(kind="route53.mail_records", payload={"ResourceRecordSets": mail}, **common)
    ctx.listing(kind="route53.hosted_zone", call="route53.ListHostedZones", resource_ids=arns)
