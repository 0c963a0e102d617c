"""What an OSCAL export renders, gathered once: the evaluated status, the customer evidence of its window, the
gaps, the evidence source, and the lookups the documents share (failing check results, the evidence they rest on).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from evidence.checks.types import Finding
from evidence.customer.types import CustomerItem
from frameworks.operation import ControlOperation, PeriodOperation
from frameworks.results import CheckVerdict, ControlResult, FrameworkStatus
from reports.customer_view import CustomerSection, ExceptionEntry, ItemEntry
from reports.oscal.evidence import EvidenceRow, EvidenceSource
from reports.oscal.ids import Ids, control_tokens, subject_name
from reports.view import GapLike

GapKey = tuple[str, str, str, str, str, str | None, str | None]


def gap_key(gap: object) -> GapKey:
    """A gap as the status names it (account, region, service, operation, error, kind, resource)."""
    return (
        gap.account_id,  # type: ignore[attr-defined]
        gap.region,  # type: ignore[attr-defined]
        gap.service,  # type: ignore[attr-defined]
        gap.operation,  # type: ignore[attr-defined]
        gap.error_code,  # type: ignore[attr-defined]
        gap.kind,  # type: ignore[attr-defined]
        gap.resource_id,  # type: ignore[attr-defined]
    )


@dataclass(frozen=True, slots=True, eq=False)
class FailingResult:
    """A failing check result on one resource, as one risk: unexcepted (`exception` None) or excepted by one
    exception. The same result excepted for one control and failing for another is two risks. Compared and hashed
    by identity: `ExportContext.failing` makes one per key, and lookups keyed by it (its risk's UUID) cost a
    pointer's hash instead of its finding's and verdict's fields."""

    finding: Finding
    verdict: CheckVerdict
    exception_id: int | None
    expires_at: datetime | None
    controls: tuple[str, ...]

    @property
    def key(self) -> tuple[object, ...]:
        f = self.finding
        return (f.check_id, f.account_id, f.region, f.resource_id, self.exception_id)


@dataclass(frozen=True)
class ExportContext:
    status: FrameworkStatus
    ids: Ids
    org_name: str
    last_modified: datetime  # from the data: the packet's generation time, or the newest fact an export rests on
    evidence: EvidenceSource
    gaps: Sequence[GapLike]
    customer: CustomerSection
    tool_version: str
    packet_id: str | None = None
    period: tuple[datetime, datetime] | None = None
    accounts: tuple[str, ...] = ()
    customer_files: Mapping[int, str] = field(default_factory=dict)  # item id -> its file in the packet bundle
    in_bundle: bool = False  # written into a packet bundle: payloads are lines of evidence/evidence.ndjson there
    catalog_sha256: str | None = None  # of catalog.json, written first: the others link to it with its hash
    operation: PeriodOperation | None = None  # a period's captures evaluated: an observation per capture
    # The risks, encoded, as another document's writer left them (a packet's assessment results read the POA&M's:
    # the same array, computed once, issue 18); None: worked out here.
    shared_risks: Callable[[], Iterable[object]] | None = None
    risk_copy: Path | None = None  # where this document's writer keeps its encoded risks for another (the POA&M)

    @cached_property
    def operations(self) -> dict[str, ControlOperation]:
        """Each control's operation over the period, by control id (none outside a period)."""
        return {c.control_id: c for c in self.operation.controls} if self.operation is not None else {}

    @cached_property
    def capture_failures(self) -> dict[str, list[str]]:
        """Per control id, the capture observations at which it failed (not met or excepted)."""
        from reports.oscal.captures import failed_captures  # it builds on this module

        return failed_captures(self)

    @cached_property
    def requirements(self) -> tuple[ControlResult, ...]:
        """The controls findings are made for: every requirement (headings only roll their children up)."""
        return tuple(control for control in self.status.controls if not control.heading)

    @cached_property
    def tokens(self) -> dict[str, str]:
        return control_tokens(self.status.framework_id, (c.control_id for c in self.status.controls))

    @cached_property
    def items(self) -> dict[int, CustomerItem]:
        """Every customer item the packet names (relied on or not), by id."""
        found = {entry.item.id: entry.item for entry in self.customer.not_relied_on}
        found.update({entry.item.id: entry.item for entry in self.customer.items})
        return found

    @cached_property
    def relied_on(self) -> dict[int, ItemEntry]:
        return {entry.item.id: entry for entry in self.customer.items}

    @cached_property
    def exceptions(self) -> dict[int, ExceptionEntry]:
        return {entry.exception.id: entry for entry in self.customer.exceptions}

    @cached_property
    def failing(self) -> dict[tuple[object, ...], FailingResult]:
        """Every failing check result of the framework's requirements in scope, once per (result, exception), with
        the controls it bears on (usually open: not met or excepted; a HIPAA addressable specification met by a
        documented alternative keeps its failing results)."""
        # Per key, FailingResult's fields as a list (the finding and verdict of the last control to name it), and
        # one FailingResult each at the end: one per control a result bears on was a third of a million frozen
        # dataclasses at a million items, for ~100,000 results (issue 18).
        made: dict[tuple[object, ...], list[Any]] = {}
        for control in self.requirements:
            if not control.in_scope:
                continue
            control_id = control.control_id
            for verdict in control.checks:
                pairs = [(f, None, None) for f in verdict.failing]
                pairs += [(e.finding, e.exception_id, e.expires_at) for e in verdict.excepted]
                for finding, exception_id, expires_at in pairs:
                    # FailingResult.key, made here so that a result named by several controls is built once
                    key = (finding.check_id, finding.account_id, finding.region, finding.resource_id, exception_id)
                    known = made.get(key)
                    if known is None:
                        made[key] = [finding, verdict, exception_id, expires_at, [control_id]]
                    elif control_id not in known[4]:
                        known[4].append(control_id)
                        known[:4] = finding, verdict, exception_id, expires_at
        found = {key: FailingResult(f, v, e, x, tuple(controls)) for key, (f, v, e, x, controls) in made.items()}
        return dict(sorted(found.items(), key=lambda item: tuple(map(str, item[0]))))  # ordered by the key's text

    @cached_property
    def failing_by_control(self) -> dict[str, list[FailingResult]]:
        found: dict[str, list[FailingResult]] = {}
        for result in self.failing.values():
            for control_id in result.controls:
                found.setdefault(control_id, []).append(result)
        return found

    @cached_property
    def failing_evidence(self) -> list[EvidenceRow]:
        """The evidence items the failing and errored check results rest on (by payload hash)."""
        hashes = {sha for result in self.failing.values() for sha in result.finding.evidence}
        for control in self.requirements:
            for verdict in control.checks:
                hashes.update(sha for finding in verdict.errored for sha in finding.evidence)
        return self.evidence.rows_with(hashes) if hashes else []

    def evidence_of(self, finding: Finding) -> list[EvidenceRow]:
        """The evidence items a finding rests on: rows with its payload hashes, preferring the finding's own
        resource, then its account (a payload can be identical for several resources, e.g. `{"Enabled": false}`)."""
        rows = [row for sha in finding.evidence for row in self._by_hash.get(sha, ())]
        own = [row for row in rows if row.account_id == finding.account_id and row.resource_id == finding.resource_id]
        if own:
            return own
        same_account = [row for row in rows if row.account_id == finding.account_id]
        return same_account or rows

    def but(self, **changes: object) -> ExportContext:
        """`dataclasses.replace(self, **changes)` keeping the lookups already worked out (a replaced dataclass
        starts without its cached properties, and each document would work them out again)."""
        changed = replace(self, **changes)  # type: ignore[arg-type]
        names = {f.name for f in fields(self)}
        changed.__dict__.update({name: value for name, value in self.__dict__.items() if name not in names})
        return changed

    def prepare(self) -> None:
        """Work out now the lookups every document uses (the failing results, the evidence they rest on), so that
        a document written in a forked process inherits them."""
        _ = self.failing_by_control, self._by_hash, self.gap_first_seen, self.requirements, self.tokens
        _ = self.risk_uuids

    @cached_property
    def risk_uuids(self) -> dict[FailingResult, str]:
        """Each failing result's risk UUID, which the risks, the findings and the POA&M's items name it by (up to
        nine times per result), minted at once."""
        results = list(self.failing.values())
        minted = self.ids.mint([subject_name("risk", *result.key) for result in results])
        return {result: uuid.decode("ascii") for result, uuid in zip(results, minted, strict=True)}

    @cached_property
    def observations_of(self) -> dict[int, tuple[Finding, tuple[str, ...]]]:
        """Per finding (by identity, kept beside its entry so that the id cannot be reused), the UUIDs of the
        observations of its evidence (`findings.evidence_observations`): asked for up to seven times per failing
        result across the documents; one entry per finding of a failing or errored check result."""
        return {}

    @cached_property
    def _by_hash(self) -> dict[str, list[EvidenceRow]]:
        found: dict[str, list[EvidenceRow]] = {}
        for row in self.failing_evidence:
            found.setdefault(row.sha256, []).append(row)
        return found

    @cached_property
    def gap_first_seen(self) -> dict[GapKey, datetime]:
        """Each distinct gap of the export, with the first time it was observed."""
        found: dict[GapKey, datetime] = {}
        for gap in self.gaps:
            key = gap_key(gap)
            if key not in found or gap.observed_at < found[key]:
                found[key] = gap.observed_at
        return dict(sorted(found.items(), key=lambda item: tuple(str(part) for part in item[0])))
