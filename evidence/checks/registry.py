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
    """A `<prefix>.yaml` of check metadata is malformed."""


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


@cache
def check_metadata() -> dict[str, CheckMeta]:
    """Every check's metadata by id, validated."""
    checks: dict[str, CheckMeta] = {}
    for meta in (meta for prefix in check_modules() for meta in _prefix_metadata(prefix)):
        if meta.id in checks:
            raise CheckMetadataError(f"evidence/checks: check id {meta.id!r} has metadata twice")
        checks[meta.id] = meta
    return checks


def check_ids() -> frozenset[str]:
    return frozenset(check_metadata())


# -- decision functions ------------------------------------------------------------------------------------------

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


def check_functions() -> dict[str, RegisteredCheck]:
    """Every check by id (importing the check modules registers their units)."""
    for prefix in check_modules():
        importlib.import_module(f"{PACKAGE}.{prefix}")
    metadata = check_metadata()
    found: dict[str, RegisteredCheck] = {}
    for check_id, unit in units().items():
        meta = metadata.get(check_id)
        if meta is None:
            raise CheckMetadataError(f"{check_id} is decided by a function but has no entry in its module's yaml")
        found[check_id] = RegisteredCheck(meta=meta, fn=unit.run, kinds=unit.kinds, regional=unit.regional)
    return dict(sorted(found.items()))
