"""The responsibility model: who is responsible for a control on each service type in use, overall, and per
control family (the responsibility matrix).

"Services in use" here are responsibility keys (`ServiceUsage.responsibility_keys`): service types, with the
container services split by what hosts their workloads ("ecs-fargate", "ecs-ec2"), as the inventory found."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence

from evidence.checks.types import RESPONSIBILITY_KEYS
from frameworks.results import Responsibility, ResponsibilityMatrix
from frameworks.schema import Catalog, Control


def combine(values: Iterable[Responsibility]) -> Responsibility | None:
    """aws or customer when every value agrees; shared when they differ or any is shared; None when empty."""
    distinct = set(values)
    if not distinct:
        return None
    if len(distinct) == 1:
        return distinct.pop()
    return Responsibility.SHARED


def ordered_services(services: Collection[str]) -> tuple[str, ...]:
    """Responsibility keys in the canonical order of RESPONSIBILITY_KEYS (unknown ones last, sorted)."""
    known = [service for service in RESPONSIBILITY_KEYS if service in services]
    return (*known, *sorted(set(services) - set(RESPONSIBILITY_KEYS)))


def per_service(control: Control, services_in_use: Collection[str]) -> dict[str, Responsibility]:
    return {service: control.responsibility_for(service) for service in ordered_services(services_in_use)}


def overall(control: Control, services_in_use: Collection[str]) -> Responsibility:
    """Across the services in use; with none in use (or usage unknown), the control's default."""
    combined = combine(per_service(control, services_in_use).values())
    return combined if combined is not None else control.responsibility["default"]


def matrix(catalog: Catalog, requirements: Sequence[Control], services_in_use: Collection[str]) -> ResponsibilityMatrix:
    """Services in use x families, from the given (in-scope) requirements; families without any are left out."""
    services = ordered_services(services_in_use)
    families: list[tuple[str, str]] = []
    cells: dict[tuple[str, str], Responsibility] = {}
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for family in catalog.families:
        members = [control for control in requirements if control.family == family.id]
        if not members:
            continue
        families.append((family.id, family.title))
        for service in services:
            values = [control.responsibility_for(service) for control in members]
            cell = combine(values)
            assert cell is not None  # members is not empty
            cells[(family.id, service)] = cell
            tally = Counter(value.value for value in values)
            counts[(family.id, service)] = {r.value: tally.get(r.value, 0) for r in Responsibility}
    return ResponsibilityMatrix(services=services, families=tuple(families), cells=cells, counts=counts)
