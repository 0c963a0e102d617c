"""Builds the demo estate with the estate builder (`auditpack.estate`): the Organization, its accounts, and each
account's resources as `estate.yaml` describes them.

Only public AWS APIs are used, so what the collectors later read is what these calls created. Facts that AWS
offers no API for (root MFA, the age of a key) are set in `simulated.py`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import boto3

from auditpack.demo.spec import EstateSpec
from auditpack.estate.plan import plant_estate


@dataclass
class BuiltEstate:
    """What was built: account ids by the estate's account keys, and how many resources of each kind."""

    spec: EstateSpec
    account_ids: dict[str, str] = field(default_factory=dict)
    resources: Counter[str] = field(default_factory=Counter)

    @property
    def management_id(self) -> str:
        return self.account_ids[self.spec.accounts[0].key]


def build_estate(
    base: boto3.Session, spec: EstateSpec, *, on_account: Callable[[str, str], None] | None = None
) -> BuiltEstate:
    """Create the Organization (the base session's account is its management account) and every account's
    resources. `on_account(key, account_id)` is told when an account is done (for progress displays)."""
    planted = plant_estate(base, spec, password=spec.canary, on_account=on_account)
    return BuiltEstate(spec, planted.account_ids, planted.resources)
