"""The demo estate as data: `estate.yaml` read into the estate builder's typed, validated models
(`auditpack.estate.plan.Estate`; a typo in the file is an error naming the field, never a resource that silently
is not built), plus what only the demo has: the organisation's name, the canary, moto's seed and the owners map."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import Field

from auditpack.estate.plan import Estate
from auditpack.estate.target import Spec

CANARY_PLACEHOLDER = "${canary}"


class Owners(Spec):
    services: dict[str, str] = {}  # evidence service (iam, cloudtrail, ...) -> owner, for resources without tags


class EstateSpec(Estate):
    organization: str
    canary: str = Field(min_length=16)  # every console and database password, and the secrets planted elsewhere
    seed: int
    owners: Owners = Owners()
    password_policies: dict[str, dict[str, Any]] = {}  # YAML anchors for the accounts
    policy_documents: dict[str, dict[str, Any]] = {}  # YAML anchors for the policies


def _substitute(value: Any, canary: str) -> Any:
    if isinstance(value, str):
        return value.replace(CANARY_PLACEHOLDER, canary)
    if isinstance(value, list):
        return [_substitute(item, canary) for item in value]
    if isinstance(value, dict):
        return {key: _substitute(item, canary) for key, item in value.items()}
    return value


def parse_estate(text: str) -> EstateSpec:
    raw = yaml.safe_load(text)
    return EstateSpec.model_validate(_substitute(raw, str(raw.get("canary", ""))))


@cache
def load_estate() -> EstateSpec:
    """The packaged demo estate (auditpack/demo/estate.yaml)."""
    return parse_estate(resources.files("auditpack.demo").joinpath("estate.yaml").read_text("utf-8"))
