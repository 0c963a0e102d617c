"""The assessment results: one result per export, with the reviewed controls, an observation per evidence item
(and per customer evidence item relied on, and per gap), a risk per failing check result and a finding per
control. The evidence arrays are streams: the document is written while the store is read."""

from __future__ import annotations

from itertools import chain
from typing import Any

from reports.oscal import ASSESSMENT_RESULTS
from reports.oscal.captures import capture_observations
from reports.oscal.context import ExportContext
from reports.oscal.customer import customer_observations, customer_resources
from reports.oscal.encoded import inventory_items, observations, payload_resources
from reports.oscal.findings import attestation_resources, control_finding, risk_items
from reports.oscal.jsonstream import Stream
from reports.oscal.parts import (
    account_component,
    gap_observations,
    metadata,
    prop,
    props,
    tool_component,
    when,
)
from reports.oscal.scope import accounts_and_regions, catalog_resource, plan_uuid, start_of


def document(ctx: ExportContext) -> dict[str, Any]:
    status = ctx.status
    accounts, regions = accounts_and_regions(ctx)
    result: dict[str, Any] = {
        "uuid": ctx.ids("result"),
        "title": f"{status.name} {status.version}: controls evaluated by auditpack",
        "description": (
            f"auditpack's evaluation of {status.name} {status.version} as of {when(status.as_of)}"
            + (f" over the period {when(ctx.period[0])} to {when(ctx.period[1])}" if ctx.period else "")
            + f": {len(ctx.requirements)} requirements, from the evidence of run(s) "
            + (", ".join(str(run.id) for run in status.runs) or "none (no usable run)")
            + " and the customer evidence relied on in the window. The overall status of each control is in "
            "its finding's `overall-status` prop." + _captures_sentence(ctx)
        ),
        "start": when(start_of(ctx)),
        "end": when(status.as_of),
        "props": props(
            *(prop(f"requirements-{name}", count) for name, count in status.by_status.items()),
            *_capture_props(ctx),
        ),
        "local-definitions": {
            "components": [tool_component(ctx), *(account_component(ctx, account) for account in accounts)],
            "inventory-items": Stream(lambda: inventory_items(ctx, ctx.evidence.resources())),
        },
        "reviewed-controls": {
            "description": f"Every requirement of the {status.name} {status.version} catalog auditpack ships "
            "(OSCAL control ids are tokens made from the framework's ids; the exact id is each finding's "
            "`control-id` prop).",
            "control-selections": [
                {"include-controls": [{"control-id": ctx.tokens[c.control_id]} for c in ctx.requirements]}
            ],
        },
        "observations": Stream(
            lambda: chain(
                observations(ctx, ctx.evidence.stream()),
                capture_observations(ctx),
                customer_observations(ctx),
                gap_observations(ctx),
            )
        ),
        "risks": Stream(lambda: risk_items(ctx)),
        "findings": Stream(lambda: (control_finding(ctx, control) for control in ctx.requirements)),
    }
    if status.warnings:
        result["remarks"] = "\n\n".join(status.warnings)
    return {
        ASSESSMENT_RESULTS.root: {
            "uuid": ctx.ids("document", ASSESSMENT_RESULTS.name),
            "metadata": metadata(ctx, ASSESSMENT_RESULTS, regions=regions),
            "import-ap": {
                "href": f"#{plan_uuid(ctx)}",
                "remarks": "auditpack has no separate OSCAL assessment plan: the plan is the catalog's checks "
                "and the customer evidence it asks for (see the back-matter resource).",
            },
            "results": [result],
            "back-matter": {
                "resources": Stream(
                    lambda: chain(
                        catalog_resource(ctx),
                        attestation_resources(ctx),
                        customer_resources(ctx),
                        payload_resources(ctx, ctx.evidence.payloads()),
                    )
                )
            },
        }
    }


def _captures_sentence(ctx: ExportContext) -> str:
    if ctx.operation is None:
        return ""
    history = ctx.operation.history
    return (
        f" Every capture of the period was evaluated too ({len(history.captures)} run(s), "
        f"{history.selection.value}): one observation each, with every requirement's status at that capture; "
        "a finding links the captures at which its control failed (not met or excepted)."
    )


def _capture_props(ctx: ExportContext) -> list[dict[str, str] | None]:
    if ctx.operation is None:
        return []
    history = ctx.operation.history
    return [
        prop("captures-evaluated", len(history.captures)),
        prop("capture-selection", history.selection.value),
        prop("days-without-capture", len(ctx.operation.days_without_capture)),
    ]
