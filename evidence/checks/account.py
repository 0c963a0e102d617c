"""The account.* checks: account-level settings held by the AWS Account service (metadata in account.yaml)."""

from __future__ import annotations

from evidence.checks.types import Finding
from evidence.checks.unit import Check, per_account
from evidence.checks.verdicts import setting_id
from evidence.checks.view import GLOBAL

CONTACT = "account.security_contact"


@per_account(reads=(CONTACT,))
def security_contact_registered(c: Check, account_id: str) -> Finding:
    record = c.account_setting(
        CONTACT,
        account_id,
        resource_id=setting_id(account_id, GLOBAL, "security-contact"),
        resource_type="alternate-contact",
        what="contact",
    )
    if "NotFound" in record.payload:
        return c.failed(
            record, "no security contact is registered: AWS sends security notices to the root user's email only"
        )
    # AWS requires a name, email address and phone number; the reason names no person.
    return c.passed(record, "a security contact is registered")
