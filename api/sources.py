"""Read seams for data other parts of auditpack compute: stored findings (collectors/checks) and framework
catalogs and statuses (frameworks). The app registers the findings and frameworks routes only when it is given a
source; the `auditpack` shell wires the real ones (`auditpack.api_sources`).

    FindingsSource.page(filters=, after_id=, limit=) -> FindingSlice     one run's findings, in storage order
    FrameworksSource.catalogs() / catalog(id) / status(id, as_of=, accounts=)
                    / history(id, since=, until=, captures=, accounts=)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from evidence.checks.types import Finding, FindingStatus
from frameworks.operation import PeriodOperation
from frameworks.results import FrameworkStatus
from frameworks.schema import Catalog


@dataclass(frozen=True, slots=True)
class FindingFilter:
    run_id: int | None = None  # None: the latest complete or partial run
    check_id: str | None = None
    status: FindingStatus | None = None
    account_id: str | None = None
    region: str | None = None
    service: str | None = None  # the AWS service of the check (check metadata), e.g. "s3"
    observed_from: datetime | None = None  # inclusive
    observed_to: datetime | None = None  # exclusive
    resource_id: str | None = None  # one resource's verdicts (its history across runs, in the web interface)


@dataclass(frozen=True, slots=True)
class StoredFinding:
    id: int  # stable, increasing within a run: the keyset-pagination key
    run_id: int
    finding: Finding


@dataclass(frozen=True, slots=True)
class FindingSlice:
    """A page of one run's findings. run_id names the run they come from (None: there is no usable run)."""

    run_id: int | None
    items: Sequence[StoredFinding]


class FindingsSource(Protocol):
    def page(self, *, filters: FindingFilter, after_id: int | None, limit: int) -> FindingSlice:
        """Up to `limit` findings of one run matching `filters` with id > after_id (all if None), lowest id first.

        Raise `core.errors.NotFoundError` for a run_id that does not exist and `InputError` for a check or
        service that does not exist."""
        ...


class FrameworksSource(Protocol):
    def catalogs(self) -> Sequence[Catalog]: ...

    def catalog(self, framework_id: str) -> Catalog:
        """The catalog; raise `core.errors.NotFoundError` for an unknown id."""
        ...

    def status(self, framework_id: str, *, as_of: datetime | None, accounts: Sequence[str] = ()) -> FrameworkStatus:
        """Control statuses from the latest usable evidence at `as_of` (now if None), for `accounts` (all if
        empty)."""
        ...

    def history(
        self, framework_id: str, *, since: date, until: date, captures: str | None, accounts: Sequence[str] = ()
    ) -> PeriodOperation:
        """Every capture of the days since..until (UTC, inclusive) evaluated: each control's history and operation.
        `captures`: all or daily (None: the configured default)."""
        ...
