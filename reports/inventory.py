"""Aggregates over the packet's evidence, computed by the database (bounded results, whatever the volume):
scope (and what the collection left out of it), freshness, owners per workload, and resources nobody owns."""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, distinct, func, select

from core.database import stored_utc
from evidence.aws.accounts import account_state
from evidence.models import Evidence
from evidence.store import EvidenceStore
from reports.export import in_scope, scan_scope


@dataclass(frozen=True, slots=True)
class WorkloadOwners:
    """A workload (one account's use of one service) and who owns its resources."""

    account_id: str
    service: str
    owners: tuple[tuple[str, int], ...]  # (owner, resources), most resources first
    unowned: int


@dataclass(frozen=True, slots=True)
class UnownedResource:
    account_id: str
    region: str
    resource_type: str
    resource_id: str


@dataclass(frozen=True, slots=True)
class OutOfScope:
    """What the packet's runs left out on purpose, from their scope evidence: regions an account collected had
    not opted in to, and accounts of the Organization that were not ACTIVE (with their state)."""

    regions: tuple[str, ...] = ()
    accounts: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Inventory:
    evidence_items: int
    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    oldest: datetime | None
    newest: datetime | None
    workloads: tuple[WorkloadOwners, ...]
    unowned_count: int
    unowned_sample: tuple[UnownedResource, ...]
    out_of_scope: OutOfScope = OutOfScope()


# Evidence about the collection itself, not about a resource anyone owns: listings (the proof that nothing else
# exists) and the records of which accounts and regions were entered.
NOT_RESOURCES = ("listing",)
NOT_RESOURCE_PREFIX = "collection."


def _is_resource() -> ColumnElement[bool]:
    return and_(Evidence.kind.not_in(NOT_RESOURCES), Evidence.kind.not_like(f"{NOT_RESOURCE_PREFIX}%"))


def collect_inventory(
    store: EvidenceStore, run_ids: Sequence[int], *, accounts: Sequence[str] | None = None, unowned_limit: int = 50
) -> Inventory:
    in_runs = in_scope(run_ids, accounts)
    with store.sessions() as session:
        count, oldest, newest = session.execute(
            select(func.count(Evidence.id), func.min(Evidence.observed_at), func.max(Evidence.observed_at)).where(
                in_runs
            )
        ).one()
        accounts = tuple(
            session.scalars(select(Evidence.account_id).distinct().where(in_runs).order_by(Evidence.account_id))
        )
        regions = tuple(session.scalars(select(Evidence.region).distinct().where(in_runs).order_by(Evidence.region)))
        scan = scan_scope(session.connection(), run_ids, accounts)  # the groupings read every row of the scope
        per_owner = session.execute(
            select(Evidence.account_id, Evidence.service, Evidence.owner, func.count(distinct(Evidence.resource_id)))
            .where(scan, _is_resource(), Evidence.owner.is_not(None))
            .group_by(Evidence.account_id, Evidence.service, Evidence.owner)
        ).all()
        # A resource is unowned when no evidence item about it names an owner.
        unowned = (
            select(
                Evidence.account_id.label("account_id"),
                Evidence.region.label("region"),
                Evidence.service.label("service"),
                func.min(Evidence.resource_type).label("resource_type"),
                Evidence.resource_id.label("resource_id"),
            )
            .where(scan, _is_resource())
            .group_by(Evidence.account_id, Evidence.region, Evidence.service, Evidence.resource_id)
            .having(func.count(Evidence.owner) == 0)
        ).subquery()
        # One pass over the unowned resources for both their count per workload and the sample (each a full
        # grouping of the run's items: two queries were 6 s of a million-item packet's critical path).
        unowned_by_workload: Counter[tuple[str, str]] = Counter()

        def counted(rows: Iterable[Row[Any]]) -> Iterator[Row[Any]]:
            for row in rows:
                unowned_by_workload[row.account_id, row.service] += 1
                yield row

        resources = session.execute(select(unowned))
        sample = heapq.nsmallest(
            unowned_limit, counted(resources), key=lambda row: (row.account_id, row.region, row.resource_id)
        )
    owners: dict[tuple[str, str], dict[str, int]] = {}
    for account_id, service, owner, resources in per_owner:
        owners.setdefault((account_id, service), {})[owner] = resources
    no_owner = dict(unowned_by_workload)
    keys = sorted(set(owners) | set(no_owner))
    return Inventory(
        evidence_items=count,
        accounts=accounts,
        regions=regions,
        # aggregates bypass the column type on SQLite (naive, or even text)
        oldest=None if oldest is None else stored_utc(oldest),
        newest=None if newest is None else stored_utc(newest),
        workloads=tuple(
            WorkloadOwners(
                account_id=key[0],
                service=key[1],
                owners=tuple(sorted(owners.get(key, {}).items(), key=lambda item: (-item[1], item[0]))),
                unowned=no_owner.get(key, 0),
            )
            for key in keys
        ),
        unowned_count=sum(no_owner.values()),
        unowned_sample=tuple(
            UnownedResource(row.account_id, row.region, row.resource_type, row.resource_id) for row in sample
        ),
        out_of_scope=out_of_scope(store, run_ids, accounts=accounts),
    )


def out_of_scope(store: EvidenceStore, run_ids: Sequence[int], *, accounts: Sequence[str]) -> OutOfScope:
    """Regions not opted in (collection.account records) and Organization accounts not ACTIVE (as listed, recorded
    under the account that listed them), among the packet's accounts; payloads read through the store, which
    checks each against its hash."""
    wanted = set(accounts)
    regions: set[str] = set()
    inactive: dict[str, str] = {}
    for run_id in run_ids:
        for record in store.iter_evidence(run_id, kinds=("collection.account", "organizations.account")):
            if record.account_id not in wanted:
                continue
            payload = record.payload
            if record.kind == "collection.account":
                regions.update(payload.get("RegionsNotOptedIn") or ())
                continue
            state = account_state(payload)
            if state != "ACTIVE" and payload.get("Id") not in wanted:
                inactive[str(payload.get("Id"))] = state
    return OutOfScope(regions=tuple(sorted(regions)), accounts=tuple(sorted(inactive.items())))
