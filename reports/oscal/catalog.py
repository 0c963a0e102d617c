"""The framework's catalog in OSCAL: the controls the other documents name, grouped by family and nested as the
framework nests them, in auditpack's own words (the catalog YAML). The SSP fragment's baseline points at it, and
each control holds the statement (`_smt`) and assessment objective (`_obj`) parts that findings target."""

from __future__ import annotations

from typing import Any

from frameworks.results import ControlResult
from reports.oscal import CATALOG
from reports.oscal.context import ExportContext
from reports.oscal.ids import control_token
from reports.oscal.parts import line, metadata, prop, props


def document(ctx: ExportContext) -> dict[str, Any]:
    status = ctx.status
    by_id = {control.control_id: control for control in status.controls}
    families: dict[str, tuple[str, list[ControlResult]]] = {}
    for control in status.controls:
        parent = by_id.get(control.parent_id) if control.parent_id else None
        nested = parent is not None and parent.family_id == control.family_id
        family = families.setdefault(control.family_id, (control.family_title, []))
        if not nested:
            family[1].append(control)
    groups = [
        {
            "id": control_token(status.framework_id, f"family-{family_id}"),
            "class": "family",
            "title": line(title),
            "props": props(prop("family-id", family_id)),
            "controls": [_control(ctx, control, by_id) for control in controls],
        }
        for family_id, (title, controls) in families.items()
        if controls
    ]
    return {
        CATALOG.root: {
            "uuid": ctx.ids("document", CATALOG.name),
            "metadata": metadata(ctx, CATALOG),
            "groups": groups,
        }
    }


def _control(ctx: ExportContext, control: ControlResult, by_id: dict[str, ControlResult]) -> dict[str, Any]:
    token = ctx.tokens[control.control_id]
    objective = control.expected_evidence or (
        "The checks and customer evidence auditpack's catalog names for this requirement show it is met."
        if not control.heading
        else "Met when every requirement under it is met."
    )
    parts: list[dict[str, Any]] = [
        {"id": f"{token}_smt", "name": "statement", "prose": control.description},
        {"id": f"{token}_obj", "name": "assessment-objective", "prose": objective},
    ]
    if control.guidance:
        parts.append({"id": f"{token}_gdn", "name": "guidance", "prose": control.guidance})
    found: dict[str, Any] = {
        "id": token,
        "class": "heading" if control.heading else "requirement",
        "title": line(control.title),
        "props": props(
            {"name": "label", "value": line(control.control_id)},
            prop("control-id", control.control_id),
            prop("automation", control.automation.value),
            prop("requirement-type", control.requirement_type),
            prop("scope", control.scope),
        ),
        "parts": parts,
    }
    children = [
        by_id[child] for child in control.children if child in by_id and by_id[child].family_id == control.family_id
    ]
    if children:
        found["controls"] = [_control(ctx, child, by_id) for child in children]
    return found
