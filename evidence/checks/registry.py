"""The check registry: metadata from `metadata.yaml`, decision functions registered by id.

A check function takes its inputs (stored evidence, gaps, thresholds) and returns findings; the registry pairs it
with its metadata. `check_ids()` is what catalogs are validated against.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

from evidence.checks.types import SERVICE_TYPES, CheckMeta, Remediation, Severity
from evidence.errors import InputError


class CheckMetadataError(InputError):
    """metadata.yaml is malformed."""


def _parse(entry: dict[str, Any], index: int) -> CheckMeta:
    where = f"evidence/checks/metadata.yaml: check #{index + 1} ({entry.get('id', '?')})"
    try:
        service_type = entry["service_type"]
        if service_type is not None and service_type not in SERVICE_TYPES:
            raise CheckMetadataError(f"{where}: service_type {service_type!r} is not one of {SERVICE_TYPES}")
        return CheckMeta(
            id=entry["id"],
            title=entry["title"],
            severity=Severity(entry["severity"]),
            domain=entry["domain"],
            service=entry["service"],
            service_type=service_type,
            description=entry["description"],
            remediation=Remediation(console=entry["remediation"]["console"], cli=entry["remediation"]["cli"]),
        )
    except KeyError as exc:
        raise CheckMetadataError(f"{where}: missing field {exc.args[0]!r}") from None
    except ValueError as exc:
        raise CheckMetadataError(f"{where}: {exc}") from None


@cache
def check_metadata() -> dict[str, CheckMeta]:
    """Every check's metadata by id, validated."""
    raw = yaml.safe_load(resources.files("evidence.checks").joinpath("metadata.yaml").read_text("utf-8"))
    checks: dict[str, CheckMeta] = {}
    for index, entry in enumerate(raw["checks"]):
        meta = _parse(entry, index)
        if meta.id in checks:
            raise CheckMetadataError(f"evidence/checks/metadata.yaml: duplicate check id {meta.id!r}")
        checks[meta.id] = meta
    return checks


def check_ids() -> frozenset[str]:
    return frozenset(check_metadata())
