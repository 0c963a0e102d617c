"""The lambda.* checks: who may invoke a function through its resource-based policy (metadata in lambda.yaml).

The module is named for its id prefix, a Python keyword: it is imported by name (importlib), never with `import`.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from evidence.checks.types import Finding
from evidence.checks.unit import Check, each
from evidence.store import EvidenceRecord

FUNCTION = "lambda.function"
POLICY = "lambda.function_policy"
_INVOKE = ("lambda:invokefunction", "lambda:invokefunctionurl", "lambda:invokeasync")
# Condition keys that confine a grant to a known source: the calling resource or account, the caller's
# Organization, or a network. A wildcard value, a negated operator or an ...IfExists operator confines nothing.
_SOURCE_KEYS = {
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:sourceowner",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceip",
}
_CONFINING = {"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike", "ipaddress"}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _anyone(statement: dict[str, Any]) -> bool:
    if "NotPrincipal" in statement:  # everyone but the principals named
        return True
    principal = statement.get("Principal")
    if principal == "*":
        return True
    return isinstance(principal, dict) and "*" in _listed(principal.get("AWS", []))


def _invokes(statement: dict[str, Any]) -> bool:
    if "NotAction" in statement:  # every action but those named: may include invoking
        return True
    actions = [str(a).lower() for a in _listed(statement.get("Action", []))]
    return any(fnmatch.fnmatchcase(invoke, action) for action in actions for invoke in _INVOKE)


def _confined(statement: dict[str, Any]) -> bool:
    for operator, clauses in (statement.get("Condition") or {}).items():
        name = str(operator).lower()
        if name.startswith("forallvalues:") or name.endswith("ifexists"):
            continue
        if name.removeprefix("foranyvalue:") not in _CONFINING or not isinstance(clauses, dict):
            continue
        for key, values in clauses.items():
            if str(key).lower() in _SOURCE_KEYS and any(str(v).strip("*") for v in _listed(values)):
                return True
    return False


def public_statements(policy: Any) -> list[str]:
    """The Sids (or positions) of statements letting anyone invoke the function without a source condition."""
    statements = policy.get("Statement", []) if isinstance(policy, dict) else []
    found = []
    for index, statement in enumerate(_listed(statements)):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        if _anyone(statement) and _invokes(statement) and not _confined(statement):
            found.append(str(statement.get("Sid") or f"#{index + 1}"))
    return found


@each(FUNCTION, resource_type="function", what="function details", reads=(POLICY,))
def not_publicly_invocable(c: Check, function: EvidenceRecord) -> Finding:
    policy = c.need(POLICY, base=function, what="function resource policy")
    if "NotFound" in policy.payload:
        return c.passed(
            function, "no resource-based policy: only this account's IAM principals may invoke it", also=[policy]
        )
    if policy.payload.get("Unparsable"):
        return c.error(policy, "cannot decide: the function's resource policy could not be parsed")
    public = public_statements(policy.payload.get("Policy"))
    if public:
        which = ", ".join(public)
        return c.failed(
            function, f"policy statement(s) {which} let anyone invoke it, with no source condition", also=[policy]
        )
    return c.passed(
        function, "its resource policy grants invocation only to named or source-confined principals", also=[policy]
    )
