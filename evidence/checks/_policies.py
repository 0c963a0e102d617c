"""Reading IAM policy documents (identity and resource policies), for checks of several prefixes."""

from __future__ import annotations

from typing import Any


def as_list(value: Any) -> list[Any]:
    """A policy element that may be one value or a list of them, as a list."""
    return value if isinstance(value, list) else [value]


def grants_full_admin(document: dict[str, Any]) -> bool:
    """Whether a policy document allows every action on every resource."""
    for statement in as_list(document.get("Statement", [])):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        if "*" in as_list(statement.get("Action", [])) and "*" in as_list(statement.get("Resource", [])):
            return True
    return False


def denies_insecure_transport(policy: dict[str, Any]) -> bool:
    """A Deny for every principal and S3 action when aws:SecureTransport is false."""
    for statement in as_list(policy.get("Statement", [])):
        if not isinstance(statement, dict) or statement.get("Effect") != "Deny":
            continue
        principal = statement.get("Principal")
        if not (principal == "*" or (isinstance(principal, dict) and "*" in as_list(principal.get("AWS", [])))):
            continue
        if not {"s3:*", "*"} & set(as_list(statement.get("Action", []))):
            continue
        condition = statement.get("Condition", {})
        for operator in ("Bool", "BoolIfExists"):
            value = condition.get(operator, {}).get("aws:SecureTransport")
            if value is not None and str(as_list(value)[0]).lower() == "false":
                return True
    return False
