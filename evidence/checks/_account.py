"""Per-account checks that judge the account itself report on its root ARN, their errors included."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

from evidence.checks.unit import Unavailable
from evidence.checks.view import GLOBAL, EvidenceView


@contextmanager
def about_account(view: EvidenceView, account_id: str) -> Iterator[None]:
    """Evidence missing inside becomes an error about the account (not about the setting that was missing), so
    the account has one finding whatever its outcome."""
    try:
        yield
    except Unavailable as missing:
        finding = dataclasses.replace(
            missing.finding, resource_id=view.account_arn(account_id), resource_type="account", region=GLOBAL
        )
        raise Unavailable(finding) from None
