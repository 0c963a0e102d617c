"""Per-account views of CloudTrail trails, for checks of several prefixes that judge "some logging multi-region
trail does X" (cloudtrail.*, cloudwatch.*)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from evidence.checks.types import Finding
from evidence.checks.unit import Check
from evidence.checks.verdicts import setting_id
from evidence.checks.view import GLOBAL
from evidence.store import EvidenceRecord

TRAIL, STATUS, SELECTORS = "cloudtrail.trail", "cloudtrail.trail_status", "cloudtrail.event_selectors"
TRAIL_KINDS = (TRAIL, STATUS, SELECTORS)


@dataclass(frozen=True, slots=True)
class TrailState:
    trail: EvidenceRecord
    status: EvidenceRecord
    selectors: EvidenceRecord

    @property
    def name(self) -> str:
        return str(self.trail.payload.get("Name"))

    @property
    def records(self) -> list[EvidenceRecord]:
        return [self.trail, self.status, self.selectors]


def trail_part(c: Check, trail: EvidenceRecord, kind: str, what: str, missing: list[Finding]) -> EvidenceRecord | None:
    """A trail's status or event selectors, or None with the error standing in for it added to `missing`."""
    return c.attempt(missing, c.need, kind, base=trail, resource_type="trail", what=what)


def each_trail(c: Check, missing: dict[str, list[Finding]]) -> Iterator[EvidenceRecord]:
    """Every trail of every account (listed in any region, recorded once); the errors standing in for trails
    that were not recorded are added to their account's list in `missing`, in the order they are met."""
    met: list[Finding] = []

    def file_met() -> None:
        for error in met:
            missing.setdefault(error.account_id, []).append(error)
        met.clear()

    for trail in c.records(TRAIL, resource_type="trail", what="trail details", missing=met):
        file_met()
        yield trail
    file_met()


def account_trails(c: Check) -> dict[str, tuple[list[TrailState], list[Finding]]]:
    """Per account: every multi-region trail that is logging, with its status and selectors, and the errors
    standing in for trails whose evidence is missing (any of which might have qualified)."""
    states: dict[str, list[TrailState]] = {a: [] for a in c.view.accounts()}
    missing: dict[str, list[Finding]] = {a: [] for a in c.view.accounts()}
    for trail in each_trail(c, missing):
        errors = missing.setdefault(trail.account_id, [])
        if not trail.payload.get("IsMultiRegionTrail"):
            continue
        status = trail_part(c, trail, STATUS, "trail status", errors)
        selectors = trail_part(c, trail, SELECTORS, "event selectors", errors)
        if status is not None and selectors is not None and status.payload.get("IsLogging"):
            states.setdefault(trail.account_id, []).append(TrailState(trail, status, selectors))
    return {a: (states.get(a, []), missing.get(a, [])) for a in sorted({*states, *missing})}


def account_verdict(
    c: Check, account_id: str, missing: list[Finding], reason: str, *, name: str = "cloudtrail"
) -> Finding:
    """No trail qualified: `error` if some trail evidence is missing (it might have), otherwise `fail`."""
    resource_id = setting_id(account_id, GLOBAL, name)
    basis = c.view.listings_of(TRAIL, account_id)
    where = {"resource_id": resource_id, "resource_type": "account"}
    if missing:
        reason = f"{reason}, and some trail evidence is missing"
        return c.incomplete(reason, missing, basis=basis, account_id=account_id, region=GLOBAL, **where)
    if not basis:
        return c.absent(account_id=account_id, region=GLOBAL, what="trail listing", **where)
    return c.failed(basis[0], reason, also=basis[1:], region=GLOBAL, **where)
