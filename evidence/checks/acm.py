"""The acm.* checks: certificates in use that are about to expire (metadata in acm.yaml)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from evidence.checks.types import Finding
from evidence.checks.unit import Check, each
from evidence.store import EvidenceRecord

CERT = "acm.certificate"


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


@each(CERT, resource_type="certificate", what="certificate summary", empty="no ACM certificates in this region")
def certificate_not_expiring(c: Check, cert: EvidenceRecord) -> Finding:
    minimum = c.thresholds.certificate_min_days_valid
    name, status = cert.payload.get("DomainName"), cert.payload.get("Status")
    if not cert.payload.get("InUse"):
        return c.not_applicable(cert, f"{name} ({status}) is not used by any resource")
    expires = _when(cert.payload.get("NotAfter"))
    if status != "ISSUED" or expires is None:
        return c.failed(cert, f"{name} is in use but {str(status).lower()}")
    days = (expires - c.now).days
    if days < minimum:
        what = f"expired {-days} days ago" if days < 0 else f"expires in {days} days (minimum {minimum})"
        return c.failed(cert, f"{name} {what}")
    return c.passed(cert, f"{name} is valid for {days} more days")
