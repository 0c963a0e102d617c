"""The lambda.* checks: supported runtimes and secrets in environment variables (metadata in lambda.yaml).

`lambda` is a Python keyword, so this module is imported with importlib (`evidence.checks.lambda`)."""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from importlib import resources

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
