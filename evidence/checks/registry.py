"""The check registry: every check's metadata and the function deciding it, by id.

Checks are units (see unit.py): `evidence/checks/<prefix>.py` holds the `<prefix>.*` checks and
`evidence/checks/<prefix>.yaml` their metadata keyed by the rest of the id. Reading metadata imports no check
code; `check_ids()` is what catalogs are validated against.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml

from evidence.checks.types import SERVICE_TYPES, CheckMeta, Finding, Remediation, Severity
from evidence.checks.unit import PACKAGE, units
from evidence.errors import InputError

if TYPE_CHECKING:
    from evidence.checks.thresholds import Thresholds
    from evidence.checks.view import EvidenceView


class CheckMetadataError(InputError):
    """metadata.yaml is malformed."""


def _parse(entry: dict[str, Any], where: str) -> CheckMeta:
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


def check_modules() -> list[str]:
    """The id prefixes that have a check module: `<prefix>.py` with its `<prefix>.yaml` beside it."""
    package = resources.files(PACKAGE)
    names = {entry.name for entry in package.iterdir()}
    return sorted(name[:-5] for name in names if name.endswith(".yaml") and f"{name[:-5]}.py" in names)


def _prefix_metadata(prefix: str) -> Iterator[CheckMeta]:
    path = f"evidence/checks/{prefix}.yaml"
    raw = yaml.safe_load(resources.files(PACKAGE).joinpath(f"{prefix}.yaml").read_text("utf-8"))
    if not isinstance(raw, dict):
        raise CheckMetadataError(f"{path}: expected a mapping of check names to their metadata")
    for name, entry in raw.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise CheckMetadataError(f"{path}: {name!r} is not a check name (the id after {prefix}.)")
        if not isinstance(entry, dict):
            raise CheckMetadataError(f"{path}: {name}: expected a mapping of fields")
        yield _parse({**entry, "id": f"{prefix}.{name}"}, f"{path}: {name}")


def _legacy_metadata() -> Iterator[CheckMeta]:
    legacy = resources.files(PACKAGE).joinpath("metadata.yaml")
    if not legacy.is_file():
        return
    raw = yaml.safe_load(legacy.read_text("utf-8"))
    for index, entry in enumerate(raw["checks"]):
        yield _parse(entry, f"evidence/checks/metadata.yaml: check #{index + 1} ({entry.get('id', '?')})")


@cache
def check_metadata() -> dict[str, CheckMeta]:
    """Every check's metadata by id, validated."""
    checks: dict[str, CheckMeta] = {}
    sources = [_legacy_metadata(), *(_prefix_metadata(prefix) for prefix in check_modules())]
    for meta in (meta for source in sources for meta in source):
        if meta.id in checks:
            raise CheckMetadataError(f"evidence/checks: check id {meta.id!r} has metadata twice")
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
    """Every registered check by id (importing the check modules registers them)."""
    for module in (*CHECK_MODULES, *check_modules()):
        importlib.import_module(f"{PACKAGE}.{module}")
    found = dict(_FUNCTIONS)
    metadata = check_metadata()
    for check_id, unit in units().items():
        meta = metadata.get(check_id)
        if meta is None:
            raise CheckMetadataError(f"{check_id} is decided by a function but has no entry in its module's yaml")
        if check_id in found:
            raise CheckMetadataError(f"check {check_id!r} has two functions")
        found[check_id] = RegisteredCheck(meta=meta, fn=unit.run, kinds=unit.kinds, regional=unit.regional)
    return dict(sorted(found.items()))
