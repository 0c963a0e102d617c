"""Which evidence a run's gaps stand for: a resource missing from a run is `removed` only if the run could read
where it would have been. A gap covers an evidence kind of a resource when it names
- the resource and the kind (a per-resource read that failed);
- the kind in that account and region (a listing that failed);
- a collector that broke there (`collector.<name>`: every kind that collector records);
- the region or the account as a whole (`collection.region`, `collection.account`).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from evidence.models import Gap

REGION_GAP = "collection.region"
ACCOUNT_GAP = "collection.account"


@cache
def _collector_kinds() -> dict[str, frozenset[str]]:
    from evidence.collectors.registry import collectors  # loads every collector module: only when a gap needs it

    return {name: entry.produces for name, entry in collectors().items()}


class GapIndex:
    def __init__(self, gaps: Iterable[Gap]) -> None:
        self.accounts: set[str] = set()
        self.places: set[tuple[str, str]] = set()
        self.kinds: set[tuple[str, str, str]] = set()
        self.resources: set[tuple[str, str, str, str]] = set()
        self.by_resource_kind: dict[tuple[str, str, str], Gap] = {}  # (account, resource, kind) -> the gap
        for gap in gaps:
            kind = gap.kind or ""
            if kind == ACCOUNT_GAP:
                self.accounts.add(gap.account_id)
            elif kind == REGION_GAP:
                self.places.add((gap.account_id, gap.region))
            elif kind.startswith("collector."):
                produced = _collector_kinds().get(kind.removeprefix("collector."), frozenset())
                self.kinds.update((gap.account_id, gap.region, k) for k in produced)
            elif gap.resource_id:
                self.resources.add((gap.account_id, gap.region, gap.resource_id, kind))
                self.by_resource_kind[(gap.account_id, gap.resource_id, kind)] = gap
            elif kind:
                self.kinds.add((gap.account_id, gap.region, kind))

    def covers(self, account_id: str, region: str, resource_id: str, kind: str) -> bool:
        return (
            account_id in self.accounts
            or (account_id, region) in self.places
            or (account_id, region, kind) in self.kinds
            or (account_id, region, resource_id, kind) in self.resources
        )

    def for_resource(self, account_id: str, resource_id: str, kind: str) -> Gap | None:
        """The gap recorded for this kind of this resource (any region), e.g. a failed change lookup."""
        return self.by_resource_kind.get((account_id, resource_id, kind))
