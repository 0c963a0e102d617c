"""Customer evidence in the assessment results: an observation per item the window relies on (documents and records
examined, attestations as interviews) and a back-matter resource with the content's SHA-256."""

from __future__ import annotations

from typing import Any

from evidence.customer.types import ItemKind
from reports.customer_view import FLAG_TEXT
from reports.oscal.context import ExportContext
from reports.oscal.parts import line, org_name, org_uuid, prop, props, when

METHOD = {ItemKind.DOCUMENT: "EXAMINE", ItemKind.RECORD: "EXAMINE", ItemKind.ATTESTATION: "INTERVIEW"}


def customer_observation_uuid(ctx: ExportContext, item_id: int) -> str:
    return ctx.ids("observation", "customer-item", item_id)


def customer_resource_uuid(ctx: ExportContext, item_id: int) -> str:
    return ctx.ids("resource", "customer-item", item_id)


def customer_observations(ctx: ExportContext) -> list[dict[str, Any]]:
    """The items the window relies on: documents and records examined, attestations (interviews)."""
    found = []
    for entry in ctx.customer.items:
        item = entry.item
        found.append(
            {
                "uuid": customer_observation_uuid(ctx, item.id),
                "title": line(item.title),
                "description": f"Customer evidence item {item.id} ({item.kind.value}, version {entry.version}): "
                f"{item.title}. Submitted by {item.submitted_by}; approved by {entry.approved_by or 'nobody'}"
                + (f"; statement by {item.statement_by}" if item.statement_by else "")
                + (f"; record at {item.record_url}" if item.record_url else "")
                + ".",
                "props": props(
                    prop("customer-item-id", item.id),
                    prop("kind", item.kind.value),
                    prop("state", entry.state.value if entry.state else None),
                    prop("owner", item.owner),
                    prop("approved-by", entry.approved_by),
                    prop("approved-at", when(entry.approved_at) if entry.approved_at else None),
                    *(prop("flag", FLAG_TEXT[flag]) for flag in entry.flags),
                    *(prop("control-id", control) for control in entry.controls),
                ),
                "methods": [METHOD[item.kind]],
                "origins": [{"actors": [{"type": "party", "actor-uuid": org_uuid(ctx)}]}],
                "subjects": [{"subject-uuid": org_uuid(ctx), "type": "party", "title": org_name(ctx)}],
                "relevant-evidence": [
                    {
                        "href": f"#{customer_resource_uuid(ctx, item.id)}",
                        "description": f"{item.media_type}, SHA-256 {item.content_sha256}",
                    }
                ],
                "collected": when(item.submitted_at),
                "expires": when(item.valid_until),
            }
        )
    return found


def customer_resources(ctx: ExportContext) -> list[dict[str, Any]]:
    found = []
    for entry in ctx.customer.items:
        item = entry.item
        digest = [{"algorithm": "SHA-256", "value": item.content_sha256}]
        rlinks = []
        bundled = ctx.customer_files.get(item.id)
        if bundled is not None:
            rlinks.append({"href": bundled, "media-type": item.media_type, "hashes": digest})
        api = f"/v1/evidence-items/{item.id}/content"
        rlinks.append({"href": api, "media-type": item.media_type, "hashes": digest})
        found.append(
            {
                "uuid": customer_resource_uuid(ctx, item.id),
                "title": line(f"{item.title} (customer evidence item {item.id})"),
                "description": f"The {item.kind.value} exactly as submitted ({item.size} bytes"
                + (f", file name {item.filename}" if item.filename else "")
                + ").",
                "props": props(prop("customer-item-id", item.id), prop("bundle-file", bundled)),
                "rlinks": rlinks,
            }
        )
    return found
