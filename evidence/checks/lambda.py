"""The lambda.* checks: supported runtimes, secrets in environment variables, and who may invoke a function through
its resource-based policy (metadata in lambda.yaml).

`lambda` is a Python keyword, so this module is imported with importlib (`evidence.checks.lambda`)."""

from __future__ import annotations

import fnmatch
import re
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import yaml

from evidence.checks.types import Finding
from evidence.checks.unit import Check, each
from evidence.redaction import is_secret_name
from evidence.store import EvidenceRecord

FUNCTION = "lambda.function"


@cache
def runtime_deprecations() -> dict[str, date]:
    """Runtime -> the date AWS stops patching it (data: data/lambda_runtimes.yaml)."""
    text = resources.files("evidence.checks").joinpath("data", "lambda_runtimes.yaml").read_text("utf-8")
    return {str(name): value for name, value in yaml.safe_load(text)["runtimes"].items()}


@each(FUNCTION, resource_type="function", what="function configuration")
def runtime_supported(c: Check, function: EvidenceRecord) -> Finding:
    table = runtime_deprecations()
    runtime = function.payload.get("Runtime")
    if not runtime:
        kind = function.payload.get("PackageType", "Image")
        return c.not_applicable(function, f"a {kind} function: its runtime comes with its container image")
    if runtime not in table:
        return c.error(function, f"runtime {runtime} is not in auditpack's runtime table; cannot decide")
    if table[runtime] <= c.now.date():
        return c.failed(function, f"runtime {runtime} was deprecated on {table[runtime].isoformat()}")
    return c.passed(function, f"runtime {runtime} is supported until {table[runtime].isoformat()}")


# Names that refer to where a secret is kept (Secrets Manager, Parameter Store, KMS) rather than holding one.
_REFERENCE_ENDINGS = ("arn", "name", "id", "path", "param", "parameter", "ref", "uri", "url", "file")


def secret_variables(variables: object) -> list[str]:
    """Environment variable names that look like they hold a secret (values are never stored, names are)."""
    if not isinstance(variables, dict):
        return []
    return sorted(
        name
        for name in variables
        if is_secret_name(name) and not re.sub(r"[^a-z0-9]", "", name.lower()).endswith(_REFERENCE_ENDINGS)
    )


@each(FUNCTION, resource_type="function", what="function details")
def no_secrets_in_environment(c: Check, function: EvidenceRecord) -> Finding:
    names = secret_variables((function.payload.get("Environment") or {}).get("Variables"))
    if names:
        return c.failed(function, f"secrets kept in environment variables: {', '.join(names)}")
    return c.passed(function, "no environment variable is named like a secret")


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
