"""The diff use case every caller shares (`auditpack diff`, packets' changes section, capture notifications): pick
the two runs, make sure both have findings, and evaluate each framework on each run to compare control statuses.

Each run's status is evaluated as `auditpack status` would have shown it right after that run: on that run, as of
its end, with the customer evidence known then. A run that is not complete or partial (failed, interrupted) has no
status: its frameworks are reported as not compared, never as changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from auditpack.collection import thresholds_from_settings
from auditpack.settings import Settings
from auditpack.wiring import framework_status, load_framework_catalogs
from core.errors import InputError
from evidence.checks.types import Finding
from evidence.customer.service import customer_evidence
from evidence.diff.engine import latest_pair, previous_run
from evidence.findings import load_findings
from evidence.findings_check import ensure_findings
from evidence.models import Run, RunStatus
from evidence.store import EvidenceStore
from frameworks.asof import FindingsProvider
from frameworks.drift import ControlChange, CustomerChange, control_changes, customer_changes
from frameworks.results import FrameworkStatus
from frameworks.schema import Catalog

if TYPE_CHECKING:
    from reports.changes import PeriodChanges


@dataclass(frozen=True, slots=True)
class FrameworkDrift:
    framework_id: str
    name: str
    compared: bool
    note: str | None  # why it was not compared
    changes: tuple[ControlChange, ...] = ()
    customer: tuple[CustomerChange, ...] = ()


def choose_runs(store: EvidenceStore, from_id: int | None, to_id: int | None) -> tuple[Run, Run]:
    """--from and --to as given; without --from, the run before --to (same scope preferred); neither: the two
    newest complete or partial runs."""
    if from_id is None and to_id is None:
        return latest_pair(store)
    if to_id is None:
        latest = store.latest_run()
        if latest is None:
            raise InputError("there is no complete or partial run to compare with", hint="run `auditpack collect`")
        to_run = latest
    else:
        to_run = store.get_run(to_id)
    if from_id is None:
        previous = previous_run(store, to_run)
        if previous is None:
            raise InputError(
                f"run {to_run.id} has no complete or partial run before it to compare with",
                hint="name the older run with --from",
            )
        return previous, to_run
    from_run = store.get_run(from_id)
    if from_run.id == to_run.id:
        raise InputError(f"--from and --to both name run {from_run.id}; give two different runs")
    for run in (from_run, to_run):
        if not run.sealed:
            raise InputError(f"run {run.id} is still running: a diff compares sealed runs")
    if from_run.chain_seq is not None and to_run.chain_seq is not None and from_run.chain_seq > to_run.chain_seq:
        raise InputError(
            f"--from run {from_run.id} was sealed after --to run {to_run.id}",
            hint="--from names the older run",
        )
    return from_run, to_run


def ensure_evaluated(settings: Settings, store: EvidenceStore, *runs: Run) -> None:
    thresholds = thresholds_from_settings(settings)
    for run in runs:
        if run.status in (s.value for s in RunStatus.usable()):
            ensure_findings(store, run.id, thresholds=thresholds)


def catalogs_for(settings: Settings, frameworks: Sequence[str]) -> list[Catalog]:
    catalogs = load_framework_catalogs(settings)
    if not frameworks:
        return [entry.catalog for entry in catalogs]
    return [catalogs.get(framework) for framework in frameworks]  # UnknownFrameworkError names the known ids


def _usable(run: Run) -> bool:
    return run.status in (s.value for s in RunStatus.usable())


def framework_drift(
    settings: Settings,
    store: EvidenceStore,
    catalogs: Sequence[Catalog],
    before: Run,
    after: Run,
    *,
    accounts: Sequence[str] = (),
) -> list[FrameworkDrift]:
    """Control status changes per framework between the two runs, and the customer evidence changes in between."""
    if not (_usable(before) and _usable(after)):
        bad = before if not _usable(before) else after
        note = f"run {bad.id} is {bad.status}: control status is evaluated on complete or partial runs only"
        return [FrameworkDrift(c.id, c.name, False, note) for c in catalogs]
    statuses = {run.id: _statuses(settings, store, catalogs, run, accounts) for run in (before, after)}
    assert before.finished_at is not None and after.finished_at is not None  # sealed
    customer = customer_evidence(store.engine, as_of=after.finished_at)
    found = []
    for catalog in catalogs:
        old, new = statuses[before.id][catalog.id], statuses[after.id][catalog.id]
        found.append(
            FrameworkDrift(
                catalog.id,
                catalog.name,
                True,
                None,
                control_changes(old, new, customer),
                customer_changes(catalog, customer, since=before.finished_at, until=after.finished_at),
            )
        )
    return found


def _statuses(
    settings: Settings, store: EvidenceStore, catalogs: Sequence[Catalog], run: Run, accounts: Sequence[str]
) -> dict[str, FrameworkStatus]:
    """Every framework evaluated on `run` as of its end; the run's findings are read once for all of them."""
    assert run.finished_at is not None
    cache: dict[int, list[Finding]] = {}
    thresholds = thresholds_from_settings(settings)

    def findings_once(store: EvidenceStore, run_id: int) -> list[Finding]:
        if run_id not in cache:
            ensure_findings(store, run_id, thresholds=thresholds)
            cache[run_id] = load_findings(store, run_id)
        return cache[run_id]

    out = {}
    for catalog in catalogs:
        out[catalog.id] = status_of_run(
            settings, store, catalog, run, at=run.finished_at, accounts=accounts, findings=findings_once
        )
    return out


def status_of_run(
    settings: Settings,
    store: EvidenceStore,
    catalog: Catalog,
    run: Run,
    *,
    at: datetime,
    accounts: Sequence[str] = (),
    findings: FindingsProvider | None = None,
) -> FrameworkStatus:
    """`catalog` evaluated on `run` as of `at` (its end, or a moment after it before the next run)."""
    status = framework_status(
        settings,
        store,
        catalog,
        as_of=at,
        accounts=accounts,
        findings_for=findings,
    )
    if not status.runs or status.runs[0].id != run.id:
        rested = status.runs[0].id if status.runs else None
        raise InputError(
            f"the status of {catalog.id} as of {at.isoformat()} rests on run {rested}, not run {run.id}: another run "
            "finished at the same moment",
            hint="name the runs to compare with --from and --to",
        )
    return status


def packet_changes(
    settings: Settings,
    store: EvidenceStore,
    catalog: Catalog,
    status: FrameworkStatus,
    *,
    since: datetime,
    until: datetime,
    accounts: Sequence[str],
    findings_for: FindingsProvider,
) -> PeriodChanges:
    """A period packet's "Changes in the period": from the newest usable run at or before `since` (else the
    period's first run) to the run the packet rests on. `findings_for` must be the verified provider the packet
    uses: both runs' stored findings are then the verdicts their evidence produces."""
    from reports.changes import period_changes

    end = store.get_run(status.runs[0].id)
    before = store.latest_run(as_of=since)
    if before is not None and before.id != end.id:
        baseline, at = before, since
    else:
        baseline = store.get_run(status.period_runs[0].id) if status.period_runs else end
        assert baseline.finished_at is not None
        at = baseline.finished_at
    findings_for(store, baseline.id)  # verified against its evidence (FindingsIntegrityError if altered)
    baseline_status = status_of_run(settings, store, catalog, baseline, at=at, accounts=accounts, findings=findings_for)
    customer = customer_evidence(store.engine, as_of=until)
    return period_changes(
        store,
        catalog=catalog,
        since=since,
        until=until,
        baseline=baseline,
        baseline_status=baseline_status,
        end=end,
        end_status=status,
        customer=customer,
        period_runs=status.period_runs,
        accounts=frozenset(accounts) or None,
    )
