"""Application Load Balancers: HTTPS with a TLS policy and an imported ACM certificate (valid for a given number
of days), plain HTTP redirected (or served), a WAF web ACL in front when asked, and access logs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from auditpack.estate.target import Spec, Target, owner_tags


class AccessLogs(Spec):
    bucket: str | None  # where access logs go; None: access logging set off (AWS's default, which moto leaves out)
    prefix: str = ""


class LoadBalancer(Spec):
    name: str
    security_group: str | None = None  # name of a group of its VPC; None: the VPC's default group
    domain: str | None = None  # of its certificate; None with certificate_days None
    certificate_days: int | None = None  # days the certificate is still valid; None: no HTTPS listener
    internal: bool = False  # internal load balancers get no plain-HTTP listener
    tls_policy: str = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    http_served: bool = False  # plain HTTP forwarded to the targets instead of redirected to HTTPS
    waf: bool = False  # a WAF web ACL in front of it
    owner: str | None = None
    access_logs: AccessLogs | None = None  # None: no call (moto then reports no access_logs.s3.enabled at all)


@dataclass(frozen=True)
class PlantedLoadBalancer:
    arn: str
    certificate_arn: str | None = None
    https_listener: str | None = None
    http_listener: str | None = None


def plant_load_balancer(
    target: Target, balancer: LoadBalancer, *, vpc_id: str, subnets: Sequence[str], security_group_id: str | None = None
) -> PlantedLoadBalancer:
    """The load balancer in `subnets` of `vpc_id`, its listeners, certificate and WAF."""
    elb = target.client("elbv2")
    tags = {"Tags": owner_tags(balancer.owner)} if balancer.owner else {}  # both APIs refuse an empty list
    certificate_arn = None
    if balancer.certificate_days is not None:
        if balancer.domain is None:
            raise ValueError(f"load balancer {balancer.name} has a certificate: give its domain")
        certificate, key = self_signed(balancer.domain, balancer.certificate_days)
        certificate_arn = target.client("acm").import_certificate(Certificate=certificate, PrivateKey=key, **tags)[
            "CertificateArn"
        ]
    arn = elb.create_load_balancer(
        Name=balancer.name,
        Subnets=list(subnets),
        **({"SecurityGroups": [security_group_id]} if security_group_id else {}),
        Scheme="internal" if balancer.internal else "internet-facing",
        Type="application",
        **tags,
    )["LoadBalancers"][0]["LoadBalancerArn"]
    https = http = None
    if certificate_arn is not None:
        target_group = elb.create_target_group(
            Name=f"{balancer.name}-app"[:32], Protocol="HTTPS", Port=8443, VpcId=vpc_id
        )["TargetGroups"][0]["TargetGroupArn"]
        forward = [{"Type": "forward", "TargetGroupArn": target_group}]
        https = elb.create_listener(
            LoadBalancerArn=arn,
            Protocol="HTTPS",
            Port=443,
            SslPolicy=balancer.tls_policy,
            Certificates=[{"CertificateArn": certificate_arn}],
            DefaultActions=forward,
        )["Listeners"][0]["ListenerArn"]
        if not balancer.internal:
            redirect = {
                "Type": "redirect",
                "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"},
            }
            http = elb.create_listener(
                LoadBalancerArn=arn,
                Protocol="HTTP",
                Port=80,
                DefaultActions=forward if balancer.http_served else [redirect],
            )["Listeners"][0]["ListenerArn"]
    if balancer.waf:
        _web_acl(target, balancer.name, arn)
    if balancer.access_logs is not None:
        logs = balancer.access_logs
        attributes = {"access_logs.s3.enabled": "true" if logs.bucket else "false"}
        if logs.bucket:
            attributes |= {"access_logs.s3.bucket": logs.bucket, "access_logs.s3.prefix": logs.prefix}
        elb.modify_load_balancer_attributes(
            LoadBalancerArn=arn, Attributes=[{"Key": key, "Value": value} for key, value in attributes.items()]
        )
    target.count("load balancers")
    return PlantedLoadBalancer(arn, certificate_arn, https, http)


def _web_acl(target: Target, name: str, resource_arn: str) -> None:
    waf = target.client("wafv2")
    acl = waf.create_web_acl(
        Name=f"{name}-waf",
        Scope="REGIONAL",
        DefaultAction={"Allow": {}},
        VisibilityConfig={"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": name},
        Rules=[],
    )["Summary"]
    waf.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=resource_arn)


def self_signed(domain: str, days: int) -> tuple[bytes, bytes]:
    """A certificate for `domain` valid for `days` more days, and its key (PEM): what ACM imports."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=365 - days if days < 365 else 1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return certificate.public_bytes(serialization.Encoding.PEM), pem_key
