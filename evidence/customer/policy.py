"""Who may do what, and the settings the service applies: the rules the CLI, the API and the UI share.

- Submitting evidence or requesting an exception: an officer or an admin (auditors only read).
- Approving or rejecting: an officer or an admin who is not the submitter / requester (four eyes).
- Retracting an item: its submitter, or an admin. Revoking an exception: an officer or an admin.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from core.errors import ForbiddenError, InputError
from core.vocabulary import Role
from evidence.customer.types import ItemKind

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a token principal (API) or the CLI actor (`--as` / AUDITPACK_ACTOR)."""

    name: str
    role: Role = Role.ADMIN

    def require_writer(self, what: str) -> None:
        if self.role not in (Role.ADMIN, Role.OFFICER):
            raise ForbiddenError(f"{self.name} ({self.role}) may not {what}: an officer or an admin may")

    def require_other_than(self, author: str, what: str, subject: str) -> None:
        if self.name == author:
            raise ForbiddenError(
                f"{self.name} cannot {what} {subject}: it is their own; another officer or admin must review it",
                hint="run the review as someone else (`--as NAME` or AUDITPACK_ACTOR)",
            )


def _default_validity() -> dict[ItemKind, timedelta]:
    return {kind: timedelta(days=365) for kind in ItemKind}


@dataclass(frozen=True, slots=True)
class CustomerPolicy:
    """What the service checks submissions against (built from settings and the loaded catalogs by the shell).

    known_controls: every `framework:control_id` of the loaded catalogs (`evidence` never imports `frameworks`).
    known_checks: every check id (None: not validated).
    validity: the default validity of an item per kind, when no `valid_until` is given.
    max_bytes: the largest content accepted.
    exception_max: how far in the future an exception may expire at most.
    """

    known_controls: frozenset[str]
    known_checks: frozenset[str] | None = None
    validity: Mapping[ItemKind, timedelta] = field(default_factory=_default_validity)
    max_bytes: int = 100 * MiB
    exception_max: timedelta = timedelta(days=365)


def _nearest(value: str, known: Collection[str]) -> str:
    """The closest known ids: a different case first (soc2:cc6.1), then by similarity, then by containment."""
    lowered = value.lower()
    close = [k for k in known if k.lower() == lowered]
    close += [k for k in difflib.get_close_matches(value, list(known), n=3, cutoff=0.6) if k not in close]
    if not close:
        close = sorted(k for k in known if lowered in k.lower())
    return f"; nearest: {', '.join(close[:3])}" if close else ""


def check_controls(values: Iterable[str], policy: CustomerPolicy, *, required: bool = True) -> tuple[str, ...]:
    """Validated, de-duplicated and sorted control refs; an unknown one is refused naming the nearest ids."""
    refs = sorted({value.strip() for value in values if value.strip()})
    if required and not refs:
        raise InputError("name at least one control it supports, as FRAMEWORK:CONTROL_ID (e.g. soc2:CC6.1)")
    for ref in refs:
        if ":" not in ref:
            raise InputError(f"control {ref!r}: expected FRAMEWORK:CONTROL_ID, e.g. hipaa:164.308(a)(1)(ii)(A)")
        if ref not in policy.known_controls:
            raise InputError(f"unknown control {ref!r}{_nearest(ref, policy.known_controls)}")
    return tuple(refs)


def check_check_id(check_id: str, policy: CustomerPolicy) -> str:
    if policy.known_checks is not None and check_id not in policy.known_checks:
        raise InputError(f"unknown check {check_id!r}{_nearest(check_id, policy.known_checks)}")
    return check_id


def required_text(value: str | None, what: str, *, max_length: int) -> str:
    text = " ".join((value or "").split())
    if not text:
        raise InputError(f"{what} is required")
    if len(text) > max_length:
        raise InputError(f"{what} is {len(text)} characters long; at most {max_length} are allowed")
    return text
