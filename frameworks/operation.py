"""What a period's captures say about each control's operation: how often it was met, failed or was excepted, its
failing streaks and how long each failure took to remediate, and the days nothing shows it operating.

Definitions (docs/frameworks.md, "Status over a period"):
- a day's cell is the most severe status among that day's captures (the order of `frameworks.overall`), or none
  when the day has no capture;
- a failing streak runs from a day whose cell is not_met to the last such day, through days with no capture or
  with incomplete evidence (neither shows the failure fixed); any other status ends it. Its length counts
  calendar days, first and last included;
- a failure's time to remediation runs from its first failing capture to the first capture after its last
  failing one where the control is met or its checks pass (or no longer apply). An exception accepts a failure,
  it does not remediate it; a failure not remediated by the period's end has none;
- uncovered days: for a requirement with checks, the days without a capture; for one the organisation must
  evidence (manual, partial), the days not wholly covered by an approved item within its validity (an item valid
  for part of the period covers that part only); inherited and out-of-scope requirements have none. Headings:
  the days without a capture when any of their requirements has checks; their requirements say the rest.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from evidence.customer.types import ControlRef, CustomerEvidence
from frameworks.history import Capture, ControlInfo, Outcome, PeriodHistory, days_of
from frameworks.overall import ItemIndex, worst_overall
from frameworks.results import AutomatedResult, Automation, OverallStatus

_CHECKED = frozenset({Automation.AUTOMATED, Automation.PARTIAL})
_NOT_MET = OverallStatus.NOT_MET
_BRIDGING = frozenset({None, OverallStatus.INCOMPLETE})  # days that neither extend nor end a streak on their own


@dataclass(frozen=True, slots=True)
class Failure:
    """One failing streak of a control."""

    first_failed_at: datetime
    first_run_id: int
    last_failed_at: datetime
    last_run_id: int
    streak_days: int  # calendar days from the first failing capture's day to the last's, both included
    remediated_at: datetime | None  # the first capture after the last failing one where it is met or passes
    remediated_run_id: int | None

    @property
    def time_to_remediation(self) -> timedelta | None:
        return self.remediated_at - self.first_failed_at if self.remediated_at is not None else None


@dataclass(frozen=True, slots=True)
class ControlOperation:
    info: ControlInfo
    captures: int
    by_status: dict[str, int]  # captures by overall status, every status present
    failures: tuple[Failure, ...]
    first_failure: datetime | None
    last_failure: datetime | None
    cells: tuple[OverallStatus | None, ...]  # one per day of the period; None: no capture that day
    uncovered_days: tuple[date, ...]
    evidence_uncovered_days: tuple[date, ...] | None  # None: the control needs no customer evidence

    @property
    def control_id(self) -> str:
        return self.info.control_id

    @property
    def met(self) -> int:
        return self.by_status[OverallStatus.MET.value]

    @property
    def failed(self) -> int:
        return self.by_status[OverallStatus.NOT_MET.value]

    @property
    def excepted(self) -> int:
        return self.by_status[OverallStatus.EXCEPTED.value]

    @property
    def incomplete(self) -> int:
        return self.by_status[OverallStatus.INCOMPLETE.value]

    @property
    def longest_failing_streak_days(self) -> int:
        return max((failure.streak_days for failure in self.failures), default=0)


@dataclass(frozen=True, slots=True)
class FamilyCells:
    family_id: str
    title: str
    cells: tuple[OverallStatus | None, ...]  # per day: the most severe cell of its requirements


@dataclass(frozen=True, slots=True)
class PeriodOperation:
    history: PeriodHistory
    days: tuple[date, ...]
    days_without_capture: tuple[date, ...]
    controls: tuple[ControlOperation, ...]  # catalog order, headings included

    def requirements(self) -> list[ControlOperation]:
        return [control for control in self.controls if not control.info.heading]

    def failed_requirements(self) -> list[ControlOperation]:
        """Requirements not met at one capture or more, longest streak first."""
        failed = [control for control in self.requirements() if control.failures]
        return sorted(failed, key=lambda c: -c.longest_failing_streak_days)

    def longest_streak(self) -> tuple[int, tuple[str, ...]]:
        """The longest failing streak of any requirement (days) and the requirements that had it."""
        longest = max((c.longest_failing_streak_days for c in self.requirements()), default=0)
        if not longest:
            return 0, ()
        return longest, tuple(c.control_id for c in self.requirements() if c.longest_failing_streak_days == longest)

    def families(self) -> list[FamilyCells]:
        grouped: dict[str, list[ControlOperation]] = {}
        titles: dict[str, str] = {}
        for control in self.requirements():
            grouped.setdefault(control.info.family_id, []).append(control)
            titles[control.info.family_id] = control.info.family_title
        out = []
        for family_id, members in grouped.items():
            cells = tuple(_worst(column) for column in zip(*(member.cells for member in members), strict=True))
            out.append(FamilyCells(family_id, titles[family_id], cells))
        return out

    def control(self, control_id: str) -> ControlOperation:
        for control in self.controls:
            if control.control_id == control_id:
                return control
        raise KeyError(control_id)


def _worst(cells: Sequence[OverallStatus | None]) -> OverallStatus | None:
    present = [cell for cell in cells if cell is not None]
    return worst_overall(present) if present else None


def operation(history: PeriodHistory, customer: CustomerEvidence) -> PeriodOperation:
    """Each control's operation over the period of `history`; `customer`: the evidence with its histories up to
    the period's end (the same the history was evaluated with)."""
    days = days_of(history.since, history.until)
    on_day: dict[date, list[int]] = {}
    for index, capture in enumerate(history.captures):
        on_day.setdefault(capture.day, []).append(index)
    without = tuple(day for day in days if day not in on_day)
    shape = _Shape(days, [on_day.get(day, []) for day in days], without)
    items = ItemIndex.build(customer.items)
    controls = []
    for position, info in enumerate(history.controls):
        outcomes = [row[position] for row in history.outcomes]
        controls.append(_control(info, history, outcomes, shape, items))
    return PeriodOperation(history=history, days=days, days_without_capture=without, controls=tuple(controls))


@dataclass(frozen=True, slots=True)
class _Shape:
    """The period's days and where its captures fall, worked out once for every control."""

    days: tuple[date, ...]
    per_day: list[list[int]]  # per day of the period, the indices of its captures
    without: tuple[date, ...]


def _control(
    info: ControlInfo, history: PeriodHistory, outcomes: Sequence[Outcome], shape: _Shape, items: ItemIndex
) -> ControlOperation:
    captures = history.captures
    statuses = [outcome.status for outcome in outcomes]
    cells = tuple(
        None if not found else statuses[found[0]] if len(found) == 1 else worst_overall(statuses[i] for i in found)
        for found in shape.per_day
    )
    counted = Counter(statuses)
    failing = [index for index, status in enumerate(statuses) if status is _NOT_MET]
    evidence_days = (
        _evidence_uncovered(ControlRef(history.framework_id, info.control_id), items, history, shape.days)
        if info.attestation_required and not info.heading
        else None
    )
    return ControlOperation(
        info=info,
        captures=len(captures),
        by_status={status.value: counted.get(status, 0) for status in OverallStatus},
        failures=_failures(captures, outcomes, shape, cells),
        first_failure=captures[failing[0]].observed_at if failing else None,
        last_failure=captures[failing[-1]].observed_at if failing else None,
        cells=cells,
        uncovered_days=_uncovered(info, shape.without, evidence_days),
        evidence_uncovered_days=evidence_days,
    )


def _remediates(outcome: Outcome) -> bool:
    return outcome.status is OverallStatus.MET or outcome.automated in (
        AutomatedResult.PASS,
        AutomatedResult.NOT_APPLICABLE,
    )


def _failures(
    captures: Sequence[Capture],
    outcomes: Sequence[Outcome],
    shape: _Shape,
    cells: tuple[OverallStatus | None, ...],
) -> tuple[Failure, ...]:
    spans: list[tuple[int, int]] = []  # first and last day index of each streak
    start: int | None = None
    last: int | None = None
    for index, cell in enumerate(cells):
        if cell is _NOT_MET:
            start, last = (index if start is None else start), index
        elif cell in _BRIDGING:
            continue
        elif start is not None and last is not None:
            spans.append((start, last))
            start = last = None
    if start is not None and last is not None:
        spans.append((start, last))
    failures = []
    for first_day, last_day in spans:
        failing = [
            k for day in range(first_day, last_day + 1) for k in shape.per_day[day] if outcomes[k].status is _NOT_MET
        ]
        first, final = captures[failing[0]], captures[failing[-1]]
        fixed = next((k for k in range(failing[-1] + 1, len(captures)) if _remediates(outcomes[k])), None)
        failures.append(
            Failure(
                first_failed_at=first.observed_at,
                first_run_id=first.run_id,
                last_failed_at=final.observed_at,
                last_run_id=final.run_id,
                streak_days=last_day - first_day + 1,
                remediated_at=captures[fixed].observed_at if fixed is not None else None,
                remediated_run_id=captures[fixed].run_id if fixed is not None else None,
            )
        )
    return tuple(failures)


def _uncovered(
    info: ControlInfo, without: tuple[date, ...], evidence_days: tuple[date, ...] | None
) -> tuple[date, ...]:
    if not info.in_scope or info.automation is Automation.INHERITED:
        return ()
    found = set(without) if info.automation in _CHECKED else set()
    found.update(evidence_days or ())
    return tuple(sorted(found))


def _evidence_uncovered(
    ref: ControlRef, items: ItemIndex, history: PeriodHistory, days: tuple[date, ...]
) -> tuple[date, ...]:
    """The days of the period not wholly covered by an approved item within its validity supporting `ref`.

    Whether approved items support the control only changes at their events and validity bounds, so it is
    decided at the period's start and at each of those moments inside the period; a day is covered when every
    stretch overlapping it is."""
    supporting = items.by_control.get(ref, ())
    if not supporting:
        return days
    since, until = history.since, history.until
    moments = {
        moment
        for item in supporting
        for moment in (item.valid_from, item.valid_until, *(event.at for event in item.events))
        if since < moment <= until
    }
    points = [since, *sorted(moments)]
    covered = [bool(items.supporting(ref, point).approved) for point in points]
    uncovered = []
    first = 0
    for day in days:
        start = max(datetime.combine(day, time.min, tzinfo=UTC), since)
        end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)
        while first + 1 < len(points) and points[first + 1] <= start:
            first += 1
        stretch = first
        while stretch < len(points) and (stretch == first or points[stretch] < end):
            if not covered[stretch]:
                uncovered.append(day)
                break
            stretch += 1
    return tuple(uncovered)
