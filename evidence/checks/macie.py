"""The macie.* checks: Macie enabled to discover sensitive data in S3 (metadata in macie.yaml)."""

from __future__ import annotations

from evidence.checks.types import Finding
from evidence.checks.unit import Check, per_region
from evidence.checks.verdicts import setting_id

SESSION = "macie.session"


@per_region(reads=(SESSION,))
def enabled(c: Check, account_id: str, region: str) -> Finding:
    session = c.setting(
        SESSION,
        account_id,
        region,
        resource_id=setting_id(account_id, region, "macie"),
        resource_type="macie-session",
        what="Macie session",
    )
    status = session.payload.get("status")
    if status == "ENABLED":
        return c.passed(session, "Macie is enabled and can discover sensitive data in S3")
    if status:
        return c.failed(session, f"Macie is {str(status).lower()}")
    return c.failed(session, "Macie is not enabled in this region")
