"""Encryption in transit and the internet edge: TLS on load balancer listeners, WAF in front of internet-facing
Application Load Balancers, ACM certificates that are about to expire, databases that require TLS."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from evidence.checks.registry import check
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import Finding
from evidence.checks.verdicts import (
    ERROR,
    FAIL,
    NA,
    PASS,
    listed_records,
    needed,
    place_setting,
    verdict,
)
from evidence.checks.view import EvidenceView
from evidence.store import EvidenceRecord

LB, LISTENERS, POLICIES, WAF = (
    "elbv2.load_balancer",
    "elbv2.listeners",
    "elbv2.ssl_policies",
    "wafv2.web_acl_for_resource",
)
CERT = "acm.certificate"
STRONG_PROTOCOLS = frozenset({"TLSv1.2", "TLSv1.3"})


def empty_places(view: EvidenceView, check_id: str, kind: str, nothing: str) -> Iterator[Finding]:
    """`not_applicable` for each place whose complete listing of `kind` found nothing: the check was applied
    there and had nothing to judge (this rests on the listing, and is not the silence of a missing listing)."""
    for listing in view.listings(kind):
        if not listing.payload.get("resource_ids"):
            yield verdict(check_id, NA, listing, nothing, resource_type=kind)


def _listeners(view: EvidenceView, check_id: str, lb: EvidenceRecord) -> EvidenceRecord | Finding:
    return needed(
        view,
        check_id,
        LISTENERS,
        account_id=lb.account_id,
        resource_id=lb.resource_id,
        resource_type="load-balancer",
        region=lb.region,
        what="listeners",
        base=lb,
    )


def redirects_to_https(listener: dict[str, Any]) -> bool:
    actions = listener.get("DefaultActions") or []
    return bool(actions) and all(
        a.get("Type") == "redirect" and (a.get("RedirectConfig") or {}).get("Protocol") == "HTTPS" for a in actions
    )


@check("elbv2.listener_tls", kinds=(LB, LISTENERS, POLICIES), regional=True)
def listener_tls(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    """One finding per listener: HTTPS/TLS with a policy allowing TLS 1.2 or later only, or HTTP redirecting
    to HTTPS. TCP, UDP and GENEVE listeners pass traffic through and are not judged here."""
    check_id = "elbv2.listener_tls"
    yield from empty_places(view, check_id, LB, "no load balancers in this region")
    for lb in listed_records(view, check_id, LB, resource_type="load-balancer", what="load balancer details"):
        if isinstance(lb, Finding):
            yield lb
            continue
        record = _listeners(view, check_id, lb)
        if isinstance(record, Finding):
            yield record
            continue
        for listener in record.payload.get("Listeners", []):
            where = {"resource_id": listener.get("ListenerArn", lb.resource_id), "resource_type": "listener"}
            protocol, port = listener.get("Protocol"), listener.get("Port")
            if protocol == "HTTP":
                if redirects_to_https(listener):
                    yield verdict(check_id, PASS, record, f"HTTP :{port} only redirects to HTTPS", **where)
                else:
                    yield verdict(check_id, FAIL, record, f"HTTP :{port} serves plain-text traffic", **where)
                continue
            if protocol not in ("HTTPS", "TLS"):
                yield verdict(check_id, NA, record, f"{protocol} :{port} passes traffic through unterminated", **where)
                continue
            policies = place_setting(
                view,
                check_id,
                POLICIES,
                account_id=lb.account_id,
                region=lb.region,
                what="TLS policy definitions",
                **where,
            )
            if isinstance(policies, Finding):
                yield policies
                continue
            name = listener.get("SslPolicy")
            policy = next((p for p in policies.payload.get("SslPolicies", []) if p.get("Name") == name), None)
            if policy is None:
                yield verdict(
                    check_id,
                    ERROR,
                    record,
                    f"cannot decide: policy {name} is not among the policies read",
                    also=[policies],
                    **where,
                )
                continue
            weak = sorted(set(policy.get("SslProtocols") or []) - STRONG_PROTOCOLS)
            if weak:
                yield verdict(
                    check_id,
                    FAIL,
                    record,
                    f"{protocol} :{port} policy {name} allows {', '.join(weak)}",
                    also=[policies],
                    **where,
                )
            else:
                allowed = ", ".join(sorted(policy.get("SslProtocols") or []))
                yield verdict(
                    check_id,
                    PASS,
                    record,
                    f"{protocol} :{port} policy {name} allows {allowed} only",
                    also=[policies],
                    **where,
                )


@check("elbv2.waf_attached", kinds=(LB, WAF), regional=True)
def waf_attached(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "elbv2.waf_attached"
    yield from empty_places(view, check_id, LB, "no load balancers in this region")
    for lb in listed_records(view, check_id, LB, resource_type="load-balancer", what="load balancer details"):
        if isinstance(lb, Finding):
            yield lb
            continue
        kind, scheme = lb.payload.get("Type"), lb.payload.get("Scheme")
        if kind != "application" or scheme != "internet-facing":
            yield verdict(check_id, NA, lb, f"an {scheme} {kind} load balancer (WAF protects internet-facing ALBs)")
            continue
        acl = needed(
            view,
            check_id,
            WAF,
            account_id=lb.account_id,
            resource_id=lb.resource_id,
            resource_type="load-balancer",
            region=lb.region,
            what="web ACL association",
            base=lb,
        )
        if isinstance(acl, Finding):
            yield acl
        elif (acl.payload.get("WebACL") or {}).get("ARN"):
            yield verdict(check_id, PASS, lb, f"protected by web ACL {acl.payload['WebACL'].get('Name')}", also=[acl])
        else:
            yield verdict(check_id, FAIL, lb, "no WAF web ACL is associated", also=[acl])


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


@check("acm.certificate_not_expiring", kinds=(CERT,), regional=True)
def certificate_not_expiring(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "acm.certificate_not_expiring"
    minimum = thresholds.certificate_min_days_valid
    yield from empty_places(view, check_id, CERT, "no ACM certificates in this region")
    for cert in listed_records(view, check_id, CERT, resource_type="certificate", what="certificate summary"):
        if isinstance(cert, Finding):
            yield cert
            continue
        name, status = cert.payload.get("DomainName"), cert.payload.get("Status")
        if not cert.payload.get("InUse"):
            yield verdict(check_id, NA, cert, f"{name} ({status}) is not used by any resource")
            continue
        expires = _when(cert.payload.get("NotAfter"))
        if status != "ISSUED" or expires is None:
            yield verdict(check_id, FAIL, cert, f"{name} is in use but {str(status).lower()}")
            continue
        days = (expires - now).days
        if days < minimum:
            what = f"expired {-days} days ago" if days < 0 else f"expires in {days} days (minimum {minimum})"
            yield verdict(check_id, FAIL, cert, f"{name} {what}")
        else:
            yield verdict(check_id, PASS, cert, f"{name} is valid for {days} more days")


# Engine -> the parameter that, set to one of the values, makes the server refuse connections without TLS.
TLS_PARAMETERS: dict[str, tuple[str, frozenset[str]]] = {
    "postgres": ("rds.force_ssl", frozenset({"1"})),
    "sqlserver": ("rds.force_ssl", frozenset({"1"})),
    "mysql": ("require_secure_transport", frozenset({"1", "ON", "on"})),
    "mariadb": ("require_secure_transport", frozenset({"1", "ON", "on"})),
}


def _engine_family(engine: str) -> str:
    return "sqlserver" if engine.startswith("sqlserver") else engine


@check("rds.tls_required", kinds=("rds.db_instance", "rds.parameter_group"), regional=True)
def tls_required(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "rds.tls_required"
    for db in listed_records(
        view, check_id, "rds.db_instance", resource_type="db-instance", what="DB instance details"
    ):
        if isinstance(db, Finding):
            yield db
            continue
        engine = str(db.payload.get("Engine", ""))
        rule = TLS_PARAMETERS.get(_engine_family(engine))
        if rule is None:
            where = "its DB cluster parameter group" if engine.startswith("aurora") else "its option group"
            yield verdict(check_id, ERROR, db, f"cannot decide: {engine} sets TLS in {where}, which is not read")
            continue
        name, required = rule
        groups = [g.get("DBParameterGroupName") for g in db.payload.get("DBParameterGroups") or []]
        if not groups:
            yield verdict(check_id, ERROR, db, "cannot decide: the instance names no parameter group")
            continue
        group = needed(
            view,
            check_id,
            "rds.parameter_group",
            account_id=db.account_id,
            resource_id=f"arn:aws:rds:{db.region}:{db.account_id}:pg:{groups[0]}",
            resource_type="db-instance",
            region=db.region,
            what=f"parameter group {groups[0]}",
            base=db,
        )
        if isinstance(group, Finding):
            yield replace(group, resource_id=db.resource_id, owner=db.owner)
            continue
        value = next(
            (p.get("ParameterValue") for p in group.payload.get("Parameters", []) if p.get("ParameterName") == name),
            None,
        )
        if value in required:
            yield verdict(check_id, PASS, db, f"{name}={value} in {groups[0]}: connections must use TLS", also=[group])
        else:
            shown = f"{name}={value}" if value is not None else f"{name} is not set"
            yield verdict(
                check_id, FAIL, db, f"{shown} in {groups[0]}: unencrypted connections are accepted", also=[group]
            )
