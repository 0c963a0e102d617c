"""How much of a catalog our checks cover: requirements by automation level, per family and overall.

A requirement is a control that is not a heading. "With evidence" means automated or partial: at least one of
auditpack's checks provides evidence for it. A catalog's headline figure (`headline`) counts what its `coverage`
measure names (HIPAA: the specifications in 164.308-164.312), or every requirement.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass

from frameworks.results import Automation
from frameworks.schema import Catalog, Control


@dataclass(frozen=True, slots=True)
class FamilyCoverage:
    family_id: str
    title: str
    requirements: int
    by_automation: dict[str, int]

    @property
    def with_checks(self) -> int:
        return self.by_automation[Automation.AUTOMATED.value] + self.by_automation[Automation.PARTIAL.value]


@dataclass(frozen=True, slots=True)
class Coverage:
    framework_id: str
    name: str
    version: str
    requirements: int
    headings: int
    by_automation: dict[str, int]
    checks_used: tuple[str, ...]
    families: tuple[FamilyCoverage, ...]

    @property
    def with_checks(self) -> int:
        """Requirements with automated or partial evidence from our checks."""
        return self.by_automation[Automation.AUTOMATED.value] + self.by_automation[Automation.PARTIAL.value]


def _tally(controls: list[Control]) -> dict[str, int]:
    counted = Counter(control.automation.value for control in controls if control.automation is not None)
    return {automation.value: counted.get(automation.value, 0) for automation in Automation}


def coverage(catalog: Catalog, *, families: Collection[str] | None = None) -> Coverage:
    """Coverage of the whole catalog, or of the given families only (e.g. HIPAA 164.308-164.312)."""
    chosen = [f for f in catalog.families if families is None or f.id in families]
    chosen_ids = {f.id for f in chosen}
    requirements = [c for c in catalog.controls if not c.heading and c.family in chosen_ids]
    return Coverage(
        framework_id=catalog.id,
        name=catalog.name,
        version=catalog.version,
        requirements=len(requirements),
        headings=sum(1 for c in catalog.controls if c.heading and c.family in chosen_ids),
        by_automation=_tally(requirements),
        checks_used=tuple(sorted({ref.id for c in requirements for ref in c.checks})),
        families=tuple(
            FamilyCoverage(
                family_id=family.id,
                title=family.title,
                requirements=len(members := [c for c in requirements if c.family == family.id]),
                by_automation=_tally(members),
            )
            for family in chosen
        ),
    )


def headline(catalog: Catalog) -> Coverage:
    """The catalog's headline coverage: the families its `coverage` measure names, or the whole catalog."""
    return coverage(catalog, families=catalog.coverage.families if catalog.coverage else None)


def headline_counts(catalog: Catalog) -> str:
    """What the headline figure counts, in words: e.g. 'requirements', 'criteria' or HIPAA's specifications."""
    return catalog.coverage.counts if catalog.coverage else "requirements"
