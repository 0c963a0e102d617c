"""Status from stored evidence as of a point in time: pick the run, gather its inputs, evaluate.

The run is the latest complete or partial one finished at or before `as_of` (never a failed or interrupted
run); a partial run's gaps count as gaps. Findings and service usage come from providers injected by the
caller (the collectors compute them from the run's evidence), so this module stays free of collector code.
Customer evidence items and exceptions come from a provider too, read as of the same moment: an item approved
or an exception expired after `as_of` does not change a status as of `as_of`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time

from core.errors import InputError
from evidence.checks.types import CheckMeta, Finding, ServiceUsage
from evidence.customer.types import CustomerEvidence
from evidence.models import Run
from evidence.store import EvidenceStore
from frameworks.evaluate import evaluate_framework
from frameworks.results import FrameworkStatus, RunRef
from frameworks.schema import Catalog

# (store, run id) -> every finding of that run / the resources in use per account, region and service type.
FindingsProvider = Callable[[EvidenceStore, int], Sequence[Finding]]
UsageProvider = Callable[[EvidenceStore, int], ServiceUsage]
# (store, as_of) -> the customer evidence items and exceptions known then, with their histories up to then.
CustomerProvider = Callable[[EvidenceStore, datetime], CustomerEvidence]


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # [0-9]: \d also matches non-ASCII digits


class InvalidDateError(InputError):
    """An as-of date that is not YYYY-MM-DD or lies in the future."""


def parse_day(text: str, *, today: date | None = None, option: str = "--as-of") -> date:
    """A calendar day given as YYYY-MM-DD, not after `today` (UTC)."""
    expected = f"{option}: {text!r} is not a date; expected YYYY-MM-DD, e.g. 2026-03-31"
    # fromisoformat alone would also take 20260331 and 2026-W13-1; the contract is YYYY-MM-DD.
    if not _DAY.fullmatch(text.strip()):
        raise InvalidDateError(expected)
    try:
        day = date.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidDateError(f"{expected} ({exc})") from None
    limit = today or datetime.now(UTC).date()
    if day > limit:
        raise InvalidDateError(f"{option}: {day.isoformat()} is in the future (today is {limit.isoformat()} UTC)")
    return day


def end_of_day(day: date) -> datetime:
    """The last instant of `day` in UTC: a run finished at any time that day counts as of that day."""
    return datetime.combine(day, time.max, tzinfo=UTC)


def run_ref(run: Run) -> RunRef:
    return RunRef(
        id=run.id,
        status=run.status,
        started_at=run.started_at,
        finished_at=run.finished_at,
        digest=run.digest,
        canonical_version=run.canonical_version,
    )


def status_as_of(
    store: EvidenceStore,
    catalog: Catalog,
    *,
    as_of: datetime,
    freshness_hours: int,
    findings_for: FindingsProvider,
    usage_for: UsageProvider,
    customer_for: CustomerProvider,
    scopes: Collection[str] | None = None,
    checks: Mapping[str, CheckMeta] | None = None,
    since: datetime | None = None,
    accounts: Collection[str] | None = None,
) -> FrameworkStatus:
    """Evaluate `catalog` on the latest usable run at or before `as_of`. With no such run, every automated
    check lacks evidence (incomplete) and the result carries a warning; nothing is invented.

    since: the start of a period: only runs finished within [since, as_of] count, and all of them are listed
    as `period_runs` (the status rests on the newest).
    accounts: evaluate these accounts only (findings, gaps and service usage of other accounts are left out).
    customer_for: the customer evidence as of `as_of` (for a period, the states at its end).
    """
    customer = customer_for(store, as_of)
    period_runs: tuple[RunRef, ...] = ()
    if since is not None:
        in_period = store.usable_runs(since=since, until=as_of)
        period_runs = tuple(run_ref(run) for run in in_period)
        run = in_period[-1] if in_period else None
    else:
        run = store.latest_run(as_of=as_of)
    scope = tuple(sorted(set(accounts))) if accounts else ()
    if run is None:
        status = evaluate_framework(
            catalog,
            findings=(),
            gaps=(),
            usage=None,
            runs=(),
            as_of=as_of,
            freshness_hours=freshness_hours,
            scopes=scopes,
            checks=checks,
            customer=customer,
        )
        return replace(status, period_runs=period_runs, accounts=scope)
    findings: Sequence[Finding] = findings_for(store, run.id)
    gaps = store.gaps(run.id)
    usage = usage_for(store, run.id)
    if scope:
        findings = [finding for finding in findings if finding.account_id in scope]
        gaps = [gap for gap in gaps if gap.account_id in scope]
        usage = usage.for_accounts(scope)
    status = evaluate_framework(
        catalog,
        findings=findings,
        gaps=gaps,
        usage=usage,
        runs=(run_ref(run),),
        as_of=as_of,
        freshness_hours=freshness_hours,
        scopes=scopes,
        checks=checks,
        customer=customer,
    )
    return replace(status, period_runs=period_runs, accounts=scope)
