"""A catalog's tree (parents, children, roll-up order) and scope selection."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from frameworks.errors import UnknownScopeError
from frameworks.schema import Catalog, Control


@dataclass(frozen=True, slots=True)
class CatalogIndex:
    catalog: Catalog
    controls: dict[str, Control]
    children: dict[str, tuple[str, ...]]
    scope: dict[str, str | None]  # a control's own scope, else its nearest ancestor's

    def descendants(self, control_id: str) -> list[str]:
        found: list[str] = []
        for child in self.children.get(control_id, ()):
            found.append(child)
            found.extend(self.descendants(child))
        return found

    def post_order(self) -> list[str]:
        """Every control id, children before their parents (so headings can roll up), else catalog order."""
        order: list[str] = []
        done: set[str] = set()

        def visit(control_id: str) -> None:
            if control_id in done:
                return
            for child in self.children.get(control_id, ()):
                visit(child)
            done.add(control_id)
            order.append(control_id)

        for control in self.catalog.controls:
            visit(control.id)
        return order

    def requirements(self) -> list[Control]:
        """The controls that count as requirements: every control that is not a heading."""
        return [control for control in self.catalog.controls if not control.heading]


def index_catalog(catalog: Catalog) -> CatalogIndex:
    controls = {control.id: control for control in catalog.controls}
    children: dict[str, list[str]] = {}
    for control in catalog.controls:
        if control.parent is not None:
            children.setdefault(control.parent, []).append(control.id)
    scope: dict[str, str | None] = {}
    for control in catalog.controls:
        current: Control | None = control
        while current is not None and current.scope is None:
            current = controls.get(current.parent) if current.parent else None
        scope[control.id] = current.scope if current is not None else None
    return CatalogIndex(
        catalog=catalog,
        controls=controls,
        children={key: tuple(value) for key, value in children.items()},
        scope=scope,
    )


def default_scopes(catalog: Catalog) -> frozenset[str]:
    return frozenset(scope.id for scope in catalog.scopes if scope.always or scope.default)


def resolve_scopes(catalog: Catalog, selected: Collection[str] | None) -> frozenset[str]:
    """The scopes to evaluate: the catalog's defaults when nothing is selected, otherwise exactly the selection
    plus the scopes that are always in (SOC 2 Security). An unknown scope id is an InputError."""
    if selected is None:
        return default_scopes(catalog)
    known = {scope.id for scope in catalog.scopes}
    unknown = set(selected) - known
    if unknown:
        raise UnknownScopeError(catalog.id, unknown, known)
    return frozenset(selected) | {scope.id for scope in catalog.scopes if scope.always}
