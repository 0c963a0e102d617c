"""Secrets never reach evidence: values that are or may be secrets are replaced by a marker, keys are kept.

Replaced:
- every value of a Lambda-style environment (``Environment.Variables``) and of ``environment`` name/value
  lists (ECS style): environment variables are where credentials end up;
- the value of any field whose name ends like a secret (``password``, ``secret``, ``token``, ``private key``,
  ``api key``, ``credentials``...) or contains ``secret``, e.g. ``MasterUserPassword``, ``client_secret``;
- the value of a name/value pair (tags, parameters: ``{"Key": "db_password", "Value": ...}``) whose name
  looks like a secret.

Names that merely mention a secret are kept (``password_enabled``, ``MinimumPasswordLength``,
``access_key_1_last_rotated``): checks need them, and they hold dates and flags, not secrets.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"

_SECRET_ENDINGS = (
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "secret",
    "secretkey",
    "secretaccesskey",
    "token",
    "privatekey",
    "apikey",
    "credential",
    "credentials",
    "connectionstring",
)
_NAME_FIELDS = ("Key", "key", "Name", "name", "ParameterKey", "OptionName", "TagKey")
_VALUE_FIELDS = ("Value", "value", "ParameterValue", "TagValue")
_NORMALISE = re.compile(r"[^a-z0-9]")


def is_secret_name(name: str) -> bool:
    """Whether a field or tag named `name` may hold a secret."""
    normal = _NORMALISE.sub("", name.lower())
    return "secret" in normal or normal.endswith(_SECRET_ENDINGS)


def _mask(value: Any) -> Any:
    # Flags and empty values carry no secret and may matter to a check.
    if value is None or isinstance(value, bool) or value == "":
        return value
    return REDACTED


def _mask_all(values: Any) -> Any:
    if isinstance(values, Mapping):
        return {key: _mask(value) for key, value in values.items()}
    return _mask(values)


def redact(value: Any) -> Any:
    """A copy of `value` with secrets replaced by ``REDACTED``."""
    if isinstance(value, Mapping):
        return _redact_mapping(value)
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


def _redact_mapping(mapping: Mapping[str, Any]) -> dict[str, Any]:
    pair_name = next((mapping[f] for f in _NAME_FIELDS if isinstance(mapping.get(f), str)), None)
    secret_pair = pair_name is not None and is_secret_name(pair_name)
    out: dict[str, Any] = {}
    for key, item in mapping.items():
        if not isinstance(key, str):
            out[key] = redact(item)
        elif secret_pair and key in _VALUE_FIELDS:
            out[key] = _mask(item)
        elif key == "Environment" and isinstance(item, Mapping) and "Variables" in item:
            out[key] = {
                **redact({k: v for k, v in item.items() if k != "Variables"}),
                "Variables": _mask_all(item["Variables"]),
            }
        elif key.lower() == "environment" and isinstance(item, list):
            out[key] = [_redact_env_entry(entry) for entry in item]
        elif is_secret_name(key):
            out[key] = _mask_all(item) if isinstance(item, Mapping) else _mask(item)
        else:
            out[key] = redact(item)
    return out


def _redact_env_entry(entry: Any) -> Any:
    if isinstance(entry, Mapping):
        return {key: (_mask(value) if key in _VALUE_FIELDS else redact(value)) for key, value in entry.items()}
    return _mask(entry)
