"""The API's read sources: findings from the stored findings table, frameworks from the loaded catalogs and
their status from stored evidence (the same evaluation `auditpack status` prints)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from functools import cache

from api.sources import FindingFilter, FindingSlice, StoredFinding
from auditpack.settings import Settings
from auditpack.status_cache import StatusCache
from auditpack.wiring import framework_status, period_operation
from core.errors import InputError
from evidence.checks.registry import check_metadata
from evidence.checks.thresholds import Thresholds
from evidence.customer.ledger import ledger_head
from evidence.findings import finding_set, load_finding_rows
from evidence.findings_check import ensure_findings
from evidence.period import period_basis
from evidence.store import EvidenceStore
from frameworks.asof import end_of_day
from frameworks.loader import Catalogs
from frameworks.operation import PeriodOperation
from frameworks.results import FrameworkStatus
from frameworks.schema import Catalog


@cache
def checks_by_service() -> dict[str, frozenset[str]]:
    """Check ids per AWS service, from the check metadata."""
    found: dict[str, set[str]] = {}
    for check_id, meta in check_metadata().items():
        found.setdefault(meta.service, set()).add(check_id)
    return {service: frozenset(ids) for service, ids in found.items()}


class StoredFindings:
    """`FindingsSource` over the findings table: one run's findings (the latest usable run by default)."""

    def __init__(self, store: EvidenceStore, *, thresholds: Thresholds | None = None) -> None:
        self._store = store
        self._thresholds = thresholds or Thresholds()

    def page(self, *, filters: FindingFilter, after_id: int | None, limit: int) -> FindingSlice:
        check_ids = self._service_checks(filters.service)
        if filters.check_id is not None and filters.check_id not in check_metadata():
            raise InputError(
                f"unknown check {filters.check_id!r}; expected a check id such as s3.default_encryption",
                hint=f"the checks: {', '.join(sorted(check_metadata()))}",
            )
        if filters.run_id is not None:
            run_id = self._store.get_run(filters.run_id).id  # NotFoundError (404) for an unknown run
        else:
            latest = self._store.latest_run()
            if latest is None:
                return FindingSlice(run_id=None, items=())
            run_id = latest.id
        # A run sealed by a process that stopped before storing its findings is evaluated now, not shown empty.
        ensure_findings(self._store, run_id, thresholds=self._thresholds)
        rows = load_finding_rows(
            self._store,
            run_id,
            check_id=filters.check_id,
            status=filters.status.value if filters.status is not None else None,
            account_id=filters.account_id,
            region=filters.region,
            check_ids=check_ids,
            observed_from=filters.observed_from,
            observed_to=filters.observed_to,
            resource_id=filters.resource_id,
            after_id=after_id,
            limit=limit,
        )
        return FindingSlice(
            run_id=run_id, items=[StoredFinding(id=row_id, run_id=run_id, finding=finding) for row_id, finding in rows]
        )

    @staticmethod
    def _service_checks(service: str | None) -> frozenset[str] | None:
        if service is None:
            return None
        services = checks_by_service()
        if service not in services:
            raise InputError(f"no check reads the service {service!r}; expected one of {', '.join(sorted(services))}")
        return services[service]


class CatalogFrameworks:
    """`FrameworksSource`: the catalogs loaded at start-up, and status evaluated from stored evidence."""

    def __init__(self, settings: Settings, store: EvidenceStore, catalogs: Catalogs) -> None:
        self._settings = settings
        self._store = store
        self._catalogs = catalogs
        self._cache: StatusCache[FrameworkStatus] = StatusCache(ttl=settings.status_cache_seconds)
        self._history: StatusCache[PeriodOperation] = StatusCache(ttl=settings.status_cache_seconds, max_entries=4)

    def catalogs(self) -> Sequence[Catalog]:
        return [entry.catalog for entry in self._catalogs]

    def catalog(self, framework_id: str) -> Catalog:
        return self._catalogs.get(framework_id)  # UnknownFrameworkError is a NotFoundError (404)

    def status(self, framework_id: str, *, as_of: datetime | None, accounts: Sequence[str] = ()) -> FrameworkStatus:
        catalog = self.catalog(framework_id)
        moment = as_of or datetime.now(UTC)
        run = self._store.latest_run(as_of=moment)
        recorded = finding_set(self._store, run.id) if run is not None else None
        # Approving an item or an exception changes a status as much as a new run: the ledger head moves then.
        head = ledger_head(self._store.engine)
        basis = (run.id if run else None, recorded.digest if recorded else None, head.digest if head else None)
        key = (framework_id, as_of, tuple(sorted(accounts)), basis)
        return self._cache.get(
            key,
            lambda: framework_status(self._settings, self._store, catalog, as_of=moment, accounts=accounts),
        )

    def history(
        self, framework_id: str, *, since: date, until: date, captures: str | None, accounts: Sequence[str] = ()
    ) -> PeriodOperation:
        catalog = self.catalog(framework_id)
        start, end = datetime.combine(since, time.min, tzinfo=UTC), end_of_day(until)
        # A run sealed or re-evaluated in the period, or a reviewed item or exception, changes the answer.
        head = ledger_head(self._store.engine)
        basis = (period_basis(self._store, since=start, until=end), head.digest if head else None)
        key = (framework_id, since, until, captures, tuple(sorted(accounts)), basis)
        return self._history.get(
            key,
            lambda: period_operation(
                self._settings, self._store, catalog, since=start, until=end, captures=captures, accounts=accounts
            ),
        )
