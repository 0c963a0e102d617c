"""A run's evidence and gaps, indexed the way checks look things up. Built once per evaluation."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from evidence.aws.defaults import DEFAULT_PARTITION
from evidence.aws.partition import arn, parse_arn
from evidence.models import Evidence, Gap
from evidence.store import EvidenceRecord, EvidenceStore

GLOBAL = "global"
LISTING = "listing"
# The orchestrator's records of what was collected: every evaluation reads them (accounts(), targets()).
SCOPE_KINDS = ("collection.account", "collection.region")


@dataclass(frozen=True, slots=True)
class GapRecord:
    account_id: str
    region: str
    service: str
    operation: str
    kind: str | None
    resource_id: str | None
    error_code: str
    message: str
    observed_at: datetime

    def describe(self) -> str:
        return f"{self.service}:{self.operation} failed ({self.error_code}: {self.message})"


@dataclass(frozen=True, slots=True)
class Listed:
    """One resource named by a completed listing."""

    account_id: str
    region: str
    resource_id: str
    listing: EvidenceRecord


class EvidenceView:
    def __init__(self, records: Iterable[EvidenceRecord], gaps: Iterable[GapRecord]) -> None:
        self._by_kind: dict[str, list[EvidenceRecord]] = defaultdict(list)
        self._by_resource: dict[tuple[str, str, str], EvidenceRecord] = {}
        self._by_place: dict[tuple[str, str, str], list[EvidenceRecord]] = defaultdict(list)
        self._listings: dict[tuple[str, str, str], EvidenceRecord] = {}
        for record in records:
            if record.kind == LISTING:
                self._listings[(record.resource_type, record.account_id, record.region)] = record
                continue
            self._by_kind[record.kind].append(record)
            self._by_resource.setdefault((record.kind, record.account_id, record.resource_id), record)
            self._by_place[(record.kind, record.account_id, record.region)].append(record)
        self.gap_list = list(gaps)
        self._gaps_by_kind: dict[str | None, list[GapRecord]] = defaultdict(list)
        for gap in self.gap_list:
            self._gaps_by_kind[gap.kind].append(gap)

    @classmethod
    def load(
        cls,
        store: EvidenceStore,
        run_id: int,
        kinds: Collection[str] | None = None,
        *,
        account_id: str | None = None,
        gaps: Iterable[Gap] | None = None,
    ) -> EvidenceView:
        """The run's evidence of `kinds` (plus listings and scope records), for one account or all."""
        wanted = None if kinds is None else {*kinds, LISTING, *SCOPE_KINDS}
        records = store.iter_evidence(run_id, kinds=wanted, account_id=account_id)
        source = store.gaps(run_id) if gaps is None else gaps
        return cls(records, [_gap(g) for g in source if account_id is None or g.account_id == account_id])

    # -- scope ------------------------------------------------------------------------------------------------

    def accounts(self) -> list[str]:
        """Accounts that were entered."""
        return sorted({r.account_id for r in self._by_kind.get("collection.account", [])})

    def account_record(self, account_id: str) -> EvidenceRecord | None:
        return next((r for r in self.items("collection.account") if r.account_id == account_id), None)

    def partition(self, account_id: str) -> str:
        """The partition of an account's evidence, as its collection record says (or, for an account that could
        not be entered, the ARN its gap names). Runs stored before partitions were recorded were all `aws`."""
        record = self.account_record(account_id)
        if record is not None:
            parsed = parse_arn(record.resource_id)
            found = record.payload.get("Partition") or (parsed and parsed.partition)
            if found:
                return str(found)
        for gap in self.gaps("collection.account", account_id=account_id):
            if gap.resource_id and (parsed := parse_arn(gap.resource_id)):
                return parsed.partition
        return DEFAULT_PARTITION

    def account_arn(self, account_id: str) -> str:
        """The account's root ARN in its partition: what account-level findings are about."""
        return arn(self.partition(account_id), "iam", "", account_id, "root")

    def arn(self, account_id: str, service: str, region: str, resource: str) -> str:
        """An ARN of a resource of `account_id`, in the account's partition."""
        return arn(self.partition(account_id), service, region, account_id, resource)

    def targets(self) -> list[tuple[str, str]]:
        """(account, region) pairs that were collected."""
        return sorted({(r.account_id, r.region) for r in self._by_kind.get("collection.region", [])})

    # -- evidence ---------------------------------------------------------------------------------------------

    def items(self, kind: str) -> list[EvidenceRecord]:
        return self._by_kind.get(kind, [])

    def one(self, kind: str, account_id: str, resource_id: str) -> EvidenceRecord | None:
        return self._by_resource.get((kind, account_id, resource_id))

    def at(self, kind: str, account_id: str, region: str) -> list[EvidenceRecord]:
        return self._by_place.get((kind, account_id, region), [])

    def listing(self, kind: str, account_id: str, region: str) -> EvidenceRecord | None:
        return self._listings.get((kind, account_id, region))

    def listings(self, kind: str) -> list[EvidenceRecord]:
        return [record for (k, _, _), record in sorted(self._listings.items()) if k == kind]

    def listings_of(self, kind: str, account_id: str) -> list[EvidenceRecord]:
        return [record for record in self.listings(kind) if record.account_id == account_id]

    def listed(self, kind: str) -> Iterator[Listed]:
        """Every resource of `kind` named by a completed listing (each once per account)."""
        seen: set[tuple[str, str]] = set()
        for record in self.listings(kind):
            for resource_id in record.payload.get("resource_ids", []):
                if (record.account_id, resource_id) not in seen:
                    seen.add((record.account_id, resource_id))
                    yield Listed(record.account_id, record.region, resource_id, record)

    # -- gaps -------------------------------------------------------------------------------------------------

    def gaps(
        self,
        kind: str | None,
        *,
        account_id: str | None = None,
        region: str | None = None,
        resource_id: Any = ...,
    ) -> list[GapRecord]:
        """Gaps of `kind`; `resource_id=None` selects failures of whole listings, a value one resource's."""
        return [
            gap
            for gap in self._gaps_by_kind.get(kind, [])
            if (account_id is None or gap.account_id == account_id)
            and (region is None or gap.region == region)
            and (resource_id is ... or gap.resource_id == resource_id)
        ]

    def collector_gaps(self, account_id: str, region: str) -> list[GapRecord]:
        """Collectors that broke in (account, region): whatever they had not recorded yet is missing."""
        return [
            gap
            for gap in self.gap_list
            if gap.kind and gap.kind.startswith("collector.") and gap.account_id == account_id and gap.region == region
        ]


def _gap(gap: Gap) -> GapRecord:
    return GapRecord(
        account_id=gap.account_id,
        region=gap.region,
        service=gap.service,
        operation=gap.operation,
        kind=gap.kind,
        resource_id=gap.resource_id,
        error_code=gap.error_code,
        message=gap.message,
        observed_at=gap.observed_at,
    )


def run_accounts(store: EvidenceStore, run_id: int) -> list[str]:
    """Every account a run has evidence or gaps for."""
    with store.sessions() as session:
        evidence = session.scalars(select(Evidence.account_id).where(Evidence.run_id == run_id).distinct())
        gaps = session.scalars(select(Gap.account_id).where(Gap.run_id == run_id).distinct())
        return sorted(set(evidence) | set(gaps))
