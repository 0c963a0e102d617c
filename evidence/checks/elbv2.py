"""The elbv2.* checks in unit form (metadata in elbv2.yaml): load balancers write access logs."""

from __future__ import annotations

from collections.abc import Iterator

from evidence.checks.support import nothing_listed
from evidence.checks.types import Finding
from evidence.checks.unit import Check, custom

LB, ATTRIBUTES = "elbv2.load_balancer", "elbv2.load_balancer_attributes"


@custom(kinds=(LB, ATTRIBUTES), regional=True)
def access_logs_enabled(c: Check) -> Iterator[Finding]:
    yield from nothing_listed(c, LB, "no load balancers here")
    for lb in c.records(LB, resource_type="load-balancer", what="load balancer details"):
        with c.item():
            if lb.payload.get("Type") == "gateway":
                yield c.not_applicable(lb, "Gateway Load Balancers write no access logs")
                continue
            attributes = c.need(ATTRIBUTES, base=lb, what="load balancer attributes")
            values = {a.get("Key"): a.get("Value") for a in attributes.payload.get("Attributes") or []}
            enabled = values.get("access_logs.s3.enabled")
            if enabled == "true":
                where = f"s3://{values.get('access_logs.s3.bucket')}/{values.get('access_logs.s3.prefix') or ''}"
                yield c.passed(lb, f"access logs go to {where}", also=[attributes])
            elif enabled == "false":
                yield c.failed(lb, "access logging is off", also=[attributes])
            else:
                yield c.error(
                    lb, "cannot decide: the attributes do not say whether access logs are on", also=[attributes]
                )
