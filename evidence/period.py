"""Reading the runs of a period in bulk: evaluating every capture of a quarter or a year needs a few facts about
each run, read here a few queries per hundreds of runs instead of several queries per run.

runs_finished  every sealed run that finished within the period (usable or not), oldest first
finding_sets   each run's finding set (absent: the run was never evaluated)
gaps_by_run    each run's gaps
period_basis   what a period's history rests on, in one query: each run finished in it with its status and its
               findings digest (a cache key: a run sealed or re-evaluated in the period changes it)
usage_bases    per run, the rows `evidence.inventory.service_usage` reads (kind, place, resource and payload hash):
               two runs with equal bases and equal gaps have equal service usage, so it is computed once
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime

from sqlalchemy import select

from evidence.findings_model import FindingSet
from evidence.inventory import USAGE_KINDS
from evidence.models import Evidence, Gap, Run
from evidence.store import EvidenceStore

CHUNK = 500  # run ids per IN (...) list: well inside every backend's limit on bound parameters

UsageBasis = frozenset[tuple[str, str, str, str, str, str]]


def _chunks(run_ids: Collection[int]) -> Iterator[list[int]]:
    ordered = sorted(set(run_ids))
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


def runs_finished(store: EvidenceStore, *, since: datetime, until: datetime) -> list[Run]:
    """Every run that finished within [since, until] (complete, partial, failed or interrupted), oldest first."""
    query = (
        select(Run)
        .where(Run.finished_at.is_not(None), Run.finished_at >= since, Run.finished_at <= until)
        .order_by(Run.finished_at, Run.id)
    )
    with store.sessions() as session:
        return list(session.scalars(query))


def period_basis(store: EvidenceStore, *, since: datetime, until: datetime) -> tuple[tuple[object, ...], ...]:
    query = (
        select(Run.id, Run.status, Run.digest, FindingSet.digest)
        .outerjoin(FindingSet, FindingSet.run_id == Run.id)
        .where(Run.finished_at.is_not(None), Run.finished_at >= since, Run.finished_at <= until)
        .order_by(Run.id)
    )
    with store.sessions() as session:
        return tuple(tuple(row) for row in session.execute(query))


def finding_sets(store: EvidenceStore, run_ids: Collection[int]) -> dict[int, FindingSet]:
    found: dict[int, FindingSet] = {}
    with store.sessions() as session:
        for chunk in _chunks(run_ids):
            for row in session.scalars(select(FindingSet).where(FindingSet.run_id.in_(chunk))):
                found[row.run_id] = row
    return found


def gaps_by_run(store: EvidenceStore, run_ids: Collection[int]) -> dict[int, list[Gap]]:
    found: dict[int, list[Gap]] = {run_id: [] for run_id in run_ids}
    with store.sessions() as session:
        for chunk in _chunks(run_ids):
            for gap in session.scalars(select(Gap).where(Gap.run_id.in_(chunk)).order_by(Gap.id)):
                found[gap.run_id].append(gap)
    return found


def usage_bases(store: EvidenceStore, run_ids: Sequence[int]) -> dict[int, UsageBasis]:
    """Per run, the (kind, account, region, resource type, resource id, payload sha256) of every evidence row
    service_usage reads. The payload hash stands for the payload, so equal bases (with equal gaps) give equal usage."""
    rows: dict[int, set[tuple[str, str, str, str, str, str]]] = {run_id: set() for run_id in run_ids}
    columns = (
        Evidence.run_id,
        Evidence.kind,
        Evidence.account_id,
        Evidence.region,
        Evidence.resource_type,
        Evidence.resource_id,
        Evidence.sha256,
    )
    # A connection, not a session: a year is ~30,000 rows, and the session's result handling added a fifth.
    with store.engine.connect() as connection:
        for chunk in _chunks(run_ids):
            query = select(*columns).where(Evidence.run_id.in_(chunk), Evidence.kind.in_(USAGE_KINDS))
            for row in connection.execute(query):
                rows[row[0]].add(row[1:])  # type: ignore[arg-type]
    return {run_id: frozenset(found) for run_id, found in rows.items()}
