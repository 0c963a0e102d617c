"""Owner attribution: who answers for a resource.

The owner is the value of the first configured tag key present on the resource (default ``Owner``, ``owner``,
``Team``); without such a tag, the ownership map names the owner of the resource's service, then of its account.

Ownership map (YAML)::

    services:            # AWS service (as in evidence: s3, ec2, rds, iam, lambda, kms, logs, ...) -> owner
      rds: database-team
    accounts:            # account id -> owner
      "111111111111": payments-team
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.errors import InputError

DEFAULT_TAG_KEYS: tuple[str, ...] = ("Owner", "owner", "Team")
_ACCOUNT_ID = re.compile(r"^[0-9]{12}$")  # [0-9]: \d also matches non-ASCII digits


class OwnerMapError(InputError):
    """The ownership map file is malformed."""


def tag_dict(tags: Any) -> dict[str, str]:
    """Tags in any of AWS's shapes (``[{"Key":..,"Value":..}]``, ``[{"TagKey":..}]``, a plain dict) as a dict."""
    if isinstance(tags, Mapping):
        return {str(k): str(v) for k, v in tags.items() if v is not None}
    out: dict[str, str] = {}
    if isinstance(tags, Iterable) and not isinstance(tags, str | bytes):
        for tag in tags:
            if not isinstance(tag, Mapping):
                continue
            key = tag.get("Key", tag.get("key", tag.get("TagKey")))
            value = tag.get("Value", tag.get("value", tag.get("TagValue")))
            if isinstance(key, str) and value is not None:
                out[key] = str(value)
    return out


@dataclass(frozen=True)
class OwnerMap:
    tag_keys: tuple[str, ...] = DEFAULT_TAG_KEYS
    services: Mapping[str, str] = field(default_factory=dict)
    accounts: Mapping[str, str] = field(default_factory=dict)

    def owner_of(self, *, service: str, account_id: str, tags: Any = None) -> str | None:
        values = tag_dict(tags) if tags else {}
        for key in self.tag_keys:
            value = values.get(key, "").strip()
            if value:
                return value
        return self.services.get(service) or self.accounts.get(account_id)


def _section(raw: Mapping[str, Any], name: str, path: Path) -> dict[str, str]:
    section = raw.get(name) or {}
    if not isinstance(section, Mapping):
        raise OwnerMapError(f"{path}: '{name}' must map names to owners, found {type(section).__name__}")
    out: dict[str, str] = {}
    for key, owner in section.items():
        key = str(key)
        if name == "accounts" and not _ACCOUNT_ID.match(key):
            raise OwnerMapError(f"{path}: accounts: {key!r} is not a 12-digit account id (quote ids in YAML)")
        if not isinstance(owner, str) or not owner.strip():
            raise OwnerMapError(f"{path}: {name}.{key}: the owner must be a non-empty string, found {owner!r}")
        out[key] = owner.strip()
    return out


def load_owner_map(path: Path | None, *, tag_keys: Iterable[str] = DEFAULT_TAG_KEYS) -> OwnerMap:
    """The ownership map from a YAML file (None: tags only)."""
    keys = tuple(tag_keys) or DEFAULT_TAG_KEYS
    if path is None:
        return OwnerMap(tag_keys=keys)
    try:
        raw = yaml.safe_load(path.read_text("utf-8"))
    except OSError as exc:
        raise OwnerMapError(f"cannot read ownership map {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise OwnerMapError(f"{path} is not valid YAML: {exc}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise OwnerMapError(f"{path}: expected a mapping with 'services' and/or 'accounts', found {type(raw).__name__}")
    unknown = sorted(set(map(str, raw)) - {"services", "accounts"})
    if unknown:
        raise OwnerMapError(f"{path}: unknown section(s) {', '.join(unknown)}; expected 'services' and/or 'accounts'")
    return OwnerMap(tag_keys=keys, services=_section(raw, "services", path), accounts=_section(raw, "accounts", path))
