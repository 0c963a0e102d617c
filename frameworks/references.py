"""Cross-reference rules of a catalog, checked with positions so that each error names file, line, control
and field: unique ids, declared families and scopes, registered check ids, existing parents without cycles,
and headings that have children to roll up from."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Sequence
from typing import Any

from frameworks.errors import CatalogError
from frameworks.schema import Control
from frameworks.yamlsource import YamlDocument


def _ids(doc: YamlDocument, items: Sequence[dict[str, Any]], key: str, noun: str) -> set[str]:
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        item_id = item.get("id")
        if item_id is None:
            continue  # the schema reports the missing id
        if str(item_id) in seen:
            raise CatalogError(
                f"duplicate {noun} id {item_id!r} (first declared as {key}[{seen[str(item_id)]}])",
                file=doc.path,
                line=doc.line_of((key, index, "id")),
                field=f"{key}[{index}].id",
            )
        seen[str(item_id)] = index
    return set(seen)


def _suggest(value: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(value, list(known), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


def check_references(
    doc: YamlDocument,
    controls: Sequence[Control],
    *,
    families: Sequence[dict[str, Any]],
    scopes: Sequence[dict[str, Any]],
    known_checks: Collection[str],
) -> None:
    family_ids = _ids(doc, families, "families", "family")
    scope_ids = _ids(doc, scopes, "scopes", "scope")

    def fail(index: int, control: Control, location: tuple[str | int, ...], field: str, problem: str) -> None:
        raise CatalogError(
            problem,
            file=doc.path,
            line=doc.line_of(("controls", index, *location)),
            control_id=control.id,
            field=field,
        )

    first_index: dict[str, int] = {}
    for index, control in enumerate(controls):
        if control.id in first_index:
            first = first_index[control.id]
            fail(
                index,
                control,
                ("id",),
                "id",
                f"duplicate control id (first defined at controls[{first}], line {doc.line_of(('controls', first))})",
            )
        first_index[control.id] = index
        if control.family not in family_ids:
            fail(
                index,
                control,
                ("family",),
                "family",
                f"{control.family!r} is not a declared family; declared: {', '.join(sorted(family_ids))}",
            )
        if control.scope is not None and control.scope not in scope_ids:
            fail(
                index,
                control,
                ("scope",),
                "scope",
                f"{control.scope!r} is not a declared scope; declared: {', '.join(sorted(scope_ids)) or '(none)'}",
            )
        for position, ref in enumerate(control.checks):
            if ref.id not in known_checks:
                fail(
                    index,
                    control,
                    ("checks", position, "id"),
                    f"checks[{position}].id",
                    f"unknown check id {ref.id!r}{_suggest(ref.id, known_checks)}; check ids are defined in "
                    "evidence/checks/<prefix>.yaml",
                )
        repeated = {ref.id for ref in control.checks if sum(r.id == ref.id for r in control.checks) > 1}
        if repeated:
            fail(index, control, ("checks",), "checks", f"check(s) listed twice: {', '.join(sorted(repeated))}")

    parents: dict[str, str] = {}
    for index, control in enumerate(controls):
        if control.parent is None:
            continue
        if control.parent not in first_index:
            fail(
                index,
                control,
                ("parent",),
                "parent",
                f"{control.parent!r} is not a control in this catalog{_suggest(control.parent, first_index)}",
            )
        parents[control.id] = control.parent

    for index, control in enumerate(controls):
        chain, current = [control.id], parents.get(control.id)
        while current is not None:
            if current in chain:
                fail(index, control, ("parent",), "parent", f"parent cycle: {' -> '.join([*chain, current])}")
            chain.append(current)
            current = parents.get(current)
        if control.heading and control.id not in parents.values():
            fail(
                index,
                control,
                ("heading",),
                "heading",
                "a heading rolls up from its children, but no control names it as parent",
            )
