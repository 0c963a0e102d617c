"""The check registry: metadata from `metadata.yaml`, decision functions registered by id.

A check function takes its inputs (stored evidence, gaps, thresholds) and returns findings; the registry pairs it
with its metadata. `check_ids()` is what catalogs are validated against.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml

from evidence.checks.types import SERVICE_TYPES, CheckMeta, Finding, Remediation, Severity
from evidence.errors import InputError

if TYPE_CHECKING:
    from evidence.checks.thresholds import Thresholds
    from evidence.checks.view import EvidenceView


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


# -- decision functions ------------------------------------------------------------------------------------------

CHECK_MODULES = (
    "iam",
    "encryption",
    "logging",
    "monitoring",
    "patching",
    "hardening",
    "network",
    "transit",
    "backup",
    "resilience",
)
CheckFunction = Callable[["EvidenceView", "Thresholds", datetime], Iterable[Finding]]


@dataclass(frozen=True, slots=True)
class RegisteredCheck:
    """A check's metadata, the function deciding it and the evidence kinds it reads.

    regional: the check judges regional resources or settings, so a region that could not be collected
    (not enabled, or the account's regions unknown) is an error for it.
    """

    meta: CheckMeta
    fn: CheckFunction
    kinds: frozenset[str]
    regional: bool


_FUNCTIONS: dict[str, RegisteredCheck] = {}


def check(check_id: str, *, kinds: Iterable[str], regional: bool) -> Callable[[CheckFunction], CheckFunction]:
    """Register the function deciding `check_id` (which must have metadata); the id is validated at import."""

    def register(fn: CheckFunction) -> CheckFunction:
        meta = check_metadata().get(check_id)
        if meta is None:
            raise CheckMetadataError(f"{fn.__module__}.{fn.__name__} decides {check_id!r}, which has no metadata")
        existing = _FUNCTIONS.get(check_id)
        if existing is not None and existing.fn is not fn:
            raise CheckMetadataError(f"check {check_id!r} has two functions: {existing.fn.__name__} and {fn.__name__}")
        _FUNCTIONS[check_id] = RegisteredCheck(meta=meta, fn=fn, kinds=frozenset(kinds), regional=regional)
        return fn

    return register


def check_functions() -> dict[str, RegisteredCheck]:
    """Every registered check by id (importing the domain modules registers them)."""
    for module in CHECK_MODULES:
        importlib.import_module(f"evidence.checks.{module}")
    return dict(sorted(_FUNCTIONS.items()))
