"""Read seams for data other parts of auditpack compute: stored findings (collectors/checks) and framework
catalogs and statuses (frameworks). The app registers the findings and frameworks routes only when it is given a
source; the `auditpack` shell wires the real ones once those parts are merged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from evidence.checks.types import Finding, FindingStatus
from frameworks.results import FrameworkStatus
from frameworks.schema import Catalog


@dataclass(frozen=True, slots=True)
class FindingFilter:
    run_id: int | None = None
    check_id: str | None = None
    status: FindingStatus | None = None
    account_id: str | None = None
    region: str | None = None
    service: str | None = None  # the AWS service of the check (check metadata), e.g. "s3"
    observed_from: datetime | None = None  # inclusive
    observed_to: datetime | None = None  # exclusive


@dataclass(frozen=True, slots=True)
class StoredFinding:
    id: int  # stable, increasing: the keyset-pagination key
    run_id: int
    finding: Finding


class FindingsSource(Protocol):
    def page(self, *, filters: FindingFilter, before_id: int | None, limit: int) -> Sequence[StoredFinding]:
        """Up to `limit` findings matching `filters` with id < before_id (all if None), highest id first."""
        ...


class FrameworksSource(Protocol):
    def catalogs(self) -> Sequence[Catalog]: ...

    def catalog(self, framework_id: str) -> Catalog:
        """The catalog; raise `evidence.errors.NotFoundError` for an unknown id."""
        ...

    def status(self, framework_id: str, *, as_of: datetime | None) -> FrameworkStatus:
        """Control statuses from the latest usable evidence at `as_of` (now if None)."""
        ...
