"""Storing and reading findings. Saving replaces a run's findings (they are re-derivable from its evidence) and
records the evaluation (thresholds, check code, digest) in the run's finding set, in the same transaction."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from datetime import datetime
from typing import Any, cast

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from core import canonical
from core.clock import utcnow
from core.errors import ConflictError, InputError, NotFoundError
from evidence.checks.registry import check_metadata
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import Finding, FindingStatus
from evidence.finding_ranges import record_ranges, window_ids
from evidence.findings_digest import (
    checks_version,
    finding_record_hash,
    findings_digest,
    set_header,
    thresholds_record,
    verdict_line,
    verdicts_fingerprint,
)
from evidence.findings_model import FindingRow, FindingSet
from evidence.models import Run, RunStatus
from evidence.store import EvidenceStore

BATCH = 2000


def _row(run_id: int, finding: Finding, severities: dict[str, str]) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "check_id": finding.check_id,
        "status": FindingStatus(finding.status).value,
        "severity": severities.get(finding.check_id, ""),
        "account_id": finding.account_id,
        "region": finding.region,
        "resource_id": finding.resource_id,
        "resource_type": finding.resource_type,
        "reason": finding.reason,
        "evidence": list(finding.evidence),
        "observed_at": finding.observed_at,
        "owner": finding.owner,
    }


_STATUSES = frozenset(s.value for s in FindingStatus)


def _finding(row: Any) -> Finding:
    """A FindingRow, or a row of its columns (what the listings read: no ORM objects to build)."""
    return _finding_fields(row, FindingStatus(row.status))


def _finding_fields(row: Any, status: FindingStatus) -> Finding:
    return Finding(
        check_id=row.check_id,
        status=status,  # the caller's: a stored text that is no known verdict is kept as such
        account_id=row.account_id,
        region=row.region,
        resource_id=row.resource_id,
        reason=row.reason,
        evidence=tuple(row.evidence),
        observed_at=row.observed_at,
        owner=row.owner,
        resource_type=row.resource_type,
    )


def save_findings(store: EvidenceStore, run_id: int, findings: Iterable[Finding], *, thresholds: Thresholds) -> int:
    """Replace the findings of a sealed run with `findings` evaluated under `thresholds`, in one transaction, and
    record the evaluation in its finding set. Returns how many were stored.

    Two processes evaluating the same run at once: the second insert of the set row violates its primary key
    (PostgreSQL) or waits for the first writer (SQLite) and replaces its rows; either way one evaluation stands.
    """
    severities = {check_id: meta.severity.value for check_id, meta in check_metadata().items()}
    version = canonical.CURRENT_VERSION
    record_hashes: list[str] = []
    verdict_lines: list[bytes] = []
    oldest: datetime | None = None
    count = 0
    with store.sessions.begin() as session:
        run = session.get(Run, run_id)
        if run is None:
            raise NotFoundError(f"run {run_id} does not exist")
        if run.status == RunStatus.RUNNING.value:
            raise ConflictError(f"run {run_id} is still running: findings are derived from a sealed run")
        session.execute(delete(FindingRow).where(FindingRow.run_id == run_id))
        session.execute(delete(FindingSet).where(FindingSet.run_id == run_id))
        batch: list[dict[str, Any]] = []
        for finding in findings:
            batch.append(_row(run_id, finding, severities))
            record_hashes.append(finding_record_hash(run_id, finding, canonical_version=version))
            verdict_lines.append(verdict_line(finding))
            if finding.observed_at is not None and (oldest is None or finding.observed_at < oldest):
                oldest = finding.observed_at
            if len(batch) >= BATCH:
                session.execute(insert(FindingRow), batch)
                count += len(batch)
                batch = []
        if batch:
            session.execute(insert(FindingRow), batch)
            count += len(batch)
        record_ranges(session, run_id)
        recorded = thresholds_record(thresholds)
        code = checks_version()
        header = set_header(run_id=run_id, thresholds=recorded, checks_version=code, count=count)
        session.add(
            FindingSet(
                run_id=run_id,
                digest=findings_digest(header, record_hashes, canonical_version=version),
                finding_count=count,
                thresholds=recorded,
                checks_version=code,
                evaluated_at=utcnow(),
                canonical_version=version,
                verdicts_sha256=verdicts_fingerprint(verdict_lines),
                oldest_observed_at=oldest,
            )
        )
    return count


def _filtered(
    run_id: int,
    check_id: str | None,
    status: str | None,
    account_id: str | None,
    region: str | None,
    check_ids: Collection[str] | None = None,
    observed_from: datetime | None = None,
    observed_to: datetime | None = None,
    resource_id: str | None = None,
) -> Any:
    query = select(FindingRow).where(FindingRow.run_id == run_id)
    if resource_id is not None:
        query = query.where(FindingRow.resource_id == resource_id)
    if check_id is not None:
        query = query.where(FindingRow.check_id == check_id)
    if check_ids is not None:
        query = query.where(FindingRow.check_id.in_(sorted(check_ids)))
    if status is not None:
        try:
            query = query.where(FindingRow.status == FindingStatus(status).value)
        except ValueError:
            allowed = ", ".join(s.value for s in FindingStatus)
            raise InputError(f"unknown finding status {status!r}; expected one of {allowed}") from None
    if account_id is not None:
        query = query.where(FindingRow.account_id == account_id)
    if region is not None:
        query = query.where(FindingRow.region == region)
    if observed_from is not None:
        query = query.where(FindingRow.observed_at >= observed_from)
    if observed_to is not None:
        query = query.where(FindingRow.observed_at < observed_to)
    return query


def load_findings(
    store: EvidenceStore,
    run_id: int,
    *,
    check_id: str | None = None,
    status: str | None = None,
    account_id: str | None = None,
    region: str | None = None,
    limit: int | None = None,
    after_id: int | None = None,
) -> list[Finding]:
    """A run's findings in storage order, filtered; `limit` and `after_id` page through them (keyset)."""
    return [
        finding
        for _, finding in load_finding_rows(
            store,
            run_id,
            check_id=check_id,
            status=status,
            account_id=account_id,
            region=region,
            limit=limit,
            after_id=after_id,
        )
    ]


def load_finding_rows(
    store: EvidenceStore,
    run_id: int,
    *,
    check_id: str | None = None,
    status: str | None = None,
    account_id: str | None = None,
    region: str | None = None,
    limit: int | None = None,
    after_id: int | None = None,
    check_ids: Collection[str] | None = None,
    observed_from: datetime | None = None,
    observed_to: datetime | None = None,
    resource_id: str | None = None,
) -> list[tuple[int, Finding]]:
    """Like `load_findings`, with each finding's row id (the keyset cursor for `after_id`).

    check_ids: only these checks (e.g. every check of one AWS service); observed_from (inclusive) and
    observed_to (exclusive): when the evidence behind the finding was observed; resource_id: one resource's.
    """
    query = _filtered(run_id, check_id, status, account_id, region, check_ids, observed_from, observed_to, resource_id)
    if after_id is not None:
        query = query.where(FindingRow.id > after_id)
    query = query.order_by(FindingRow.id)
    if limit is not None:
        query = query.limit(limit)
    with store.sessions() as session:
        bounds = _id_range(session, run_id)
        if bounds is not None and (observed_from is not None or observed_to is not None):
            window = window_ids(session, run_id, observed_from, observed_to)
            if window is not None:  # start at the first block that can match, end after the last one
                bounds = (max(bounds[0], window[0]), min(bounds[1], window[1]))
        if bounds is None or bounds[0] > bounds[1]:
            return []
        # Plain rows of the table's columns, not ORM objects: a year of period history reads ~10,000 per run.
        rows = session.execute(query.where(FindingRow.id.between(*bounds)).with_only_columns(*FindingRow.__table__.c))
        return [(row.id, _finding(row)) for row in rows]


_COLUMNS = (
    FindingRow.id,
    FindingRow.check_id,
    FindingRow.status,
    FindingRow.account_id,
    FindingRow.region,
    FindingRow.resource_id,
    FindingRow.reason,
    FindingRow.evidence,
    FindingRow.observed_at,
    FindingRow.owner,
    FindingRow.resource_type,
)


def iter_findings(
    store: EvidenceStore,
    run_id: int,
    *,
    check_id: str | None = None,
    status: str | None = None,
    account_id: str | None = None,
    check_ids: Collection[str] | None = None,
    page_size: int = BATCH,
) -> Iterator[Finding]:
    """A run's findings in storage order, filtered like `load_findings`, read a page at a time (keyset on the row
    id, plain rows rather than ORM objects): exports of a million findings hold one page, and no transaction stays
    open between pages."""
    query = _filtered(run_id, check_id, status, account_id, None, check_ids).with_only_columns(*_COLUMNS)
    with store.sessions() as session:
        bounds = _id_range(session, run_id)
    if bounds is None:
        return
    first, last = bounds
    after = first - 1
    while True:
        with store.sessions() as session:
            page = session.execute(
                query.where(FindingRow.id.between(after + 1, last)).order_by(FindingRow.id).limit(page_size)
            ).all()
        for row in page:
            yield Finding(
                check_id=row.check_id,
                status=FindingStatus(row.status),
                account_id=row.account_id,
                region=row.region,
                resource_id=row.resource_id,
                reason=row.reason,
                evidence=tuple(row.evidence),
                observed_at=row.observed_at,
                owner=row.owner,
                resource_type=row.resource_type,
            )
        if len(page) < page_size:
            return
        after = page[-1].id


def _id_range(session: Session, run_id: int) -> tuple[int, int] | None:
    """The first and last row id of a run's findings (None when it has none), as literal bounds for the listing.

    Without them PostgreSQL may answer `run_id = x ORDER BY id LIMIT n` by walking the primary key from the
    table's first row, reading every older run's findings before the first of this one (about 250 ms a page at a
    million rows); with them it plans on the run's real extent. Both ends come from the (run_id, id) index: the
    range condition keeps the planner from folding run_id out of the sort key and taking the primary key again.
    """
    own = select(FindingRow.id).where(FindingRow.run_id.between(run_id, run_id)).limit(1)
    first = own.order_by(FindingRow.run_id, FindingRow.id).scalar_subquery()
    last = own.order_by(FindingRow.run_id.desc(), FindingRow.id.desc()).scalar_subquery()
    row = session.execute(select(first, last)).one()  # one round trip
    return None if row[0] is None or row[1] is None else (int(row[0]), int(row[1]))


def finding_accounts(
    store: EvidenceStore,
    run_id: int,
    *,
    check_id: str | None = None,
    status: str | None = None,
    account_id: str | None = None,
    check_ids: Collection[str] | None = None,
) -> list[str]:
    """The accounts the run's findings (filtered like `iter_findings`) are about, sorted."""
    rows = _filtered(run_id, check_id, status, account_id, None, check_ids).subquery()
    with store.sessions() as session:
        return sorted(session.scalars(select(rows.c.account_id).distinct()))


def finding_counts(store: EvidenceStore, run_id: int) -> dict[str, dict[str, int]]:
    """{check_id: {status: count}} for a run."""
    query = (
        select(FindingRow.check_id, FindingRow.status, func.count())
        .where(FindingRow.run_id == run_id)
        .group_by(FindingRow.check_id, FindingRow.status)
    )
    counts: dict[str, dict[str, int]] = {}
    with store.sessions() as session:
        for check_id, status, count in session.execute(query):
            counts.setdefault(check_id, {})[status] = int(count)
    return counts


def has_findings(store: EvidenceStore, run_id: int) -> bool:
    """Whether the run was evaluated (its finding set exists; an evaluation may have found nothing to judge)."""
    return finding_set(store, run_id) is not None


def finding_set(store: EvidenceStore, run_id: int) -> FindingSet | None:
    with store.sessions() as session:
        return session.get(FindingSet, run_id)


def iter_stored_findings(store: EvidenceStore, run_id: int, *, batch_size: int = 2000) -> Iterator[tuple[int, Finding]]:
    """Every stored finding of a run with its row id, in id order, streamed, exactly as stored: a status that is
    not a known verdict stays the stored text (verification must hash what is there, not fail on it)."""
    query = select(FindingRow).where(FindingRow.run_id == run_id).order_by(FindingRow.id)
    with store.sessions() as session:
        for row in session.scalars(query.execution_options(yield_per=batch_size)):
            status = row.status if row.status not in _STATUSES else FindingStatus(row.status)
            yield row.id, _finding_fields(row, cast(FindingStatus, status))
