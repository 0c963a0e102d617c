"""Building blocks the documents share: props, metadata and parties, the tool, accounts and regions, and the
observations and back-matter resources of evidence items, customer evidence and gaps."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from core.canonical import rfc3339
from reports.oscal import NS, OSCAL_VERSION, Document
from reports.oscal.context import ExportContext, GapKey
from reports.oscal.evidence import EvidenceRow, ResourceRow

_SPACE = re.compile(r"\s+")
OPERATIONAL = {"state": "operational"}
GLOBAL = "global"


def line(text: object) -> str:
    """One line without leading or trailing space (OSCAL titles and prop values)."""
    text = str(text)
    if text.isprintable() and "  " not in text and text == text.strip():  # the common case, at C speed
        return text
    return _SPACE.sub(" ", text).strip()


def prop(name: str, value: object, *, cls: str | None = None) -> dict[str, str] | None:
    """An auditpack prop, or None for an empty value (OSCAL prop values are never blank)."""
    if value is None:
        return None
    text = str(value) if isinstance(value, int) else line(value)
    if not text:
        return None
    made = {"name": name, "ns": NS, "value": text}
    if cls is not None:
        made["class"] = cls
    return made


def props(*items: dict[str, str] | None) -> list[dict[str, str]]:
    return [item for item in items if item is not None]


def when(moment: Any) -> str:
    return rfc3339(moment)


# -- metadata, parties, the tool --------------------------------------------------------------------------------


def org_uuid(ctx: ExportContext) -> str:
    return ctx.ids.memo("party", "organisation")


def aws_uuid(ctx: ExportContext) -> str:
    return ctx.ids.memo("party", "aws")


def tool_uuid(ctx: ExportContext) -> str:
    return ctx.ids.memo("component", "auditpack")


def region_uuid(ctx: ExportContext, region: str) -> str:
    return ctx.ids.memo("location", region)


def account_uuid(ctx: ExportContext, account: str) -> str:
    return ctx.ids.memo("component", "aws-account", account)


def org_name(ctx: ExportContext) -> str:
    return line(ctx.org_name) or "The organisation (AUDITPACK_ORG_NAME is not set)"


def metadata(ctx: ExportContext, doc: Document, *, regions: list[str] | None = None) -> dict[str, Any]:
    status = ctx.status
    title = f"{doc.title}: {status.name} {status.version}"
    if ctx.org_name.strip():
        title += f", {line(ctx.org_name)}"
    window = (
        [prop("period-start", when(ctx.period[0])), prop("period-end", when(ctx.period[1]))]
        if ctx.period
        else [prop("as-of", when(status.as_of))]
    )
    found: dict[str, Any] = {
        "title": title,
        "last-modified": when(ctx.last_modified),
        "version": f"{status.framework_id} {status.version} as of {when(status.as_of)}",
        "oscal-version": OSCAL_VERSION,
        "props": props(
            prop("framework", status.framework_id),
            prop("framework-name", status.name),
            prop("framework-version", status.version),
            *window,
            prop("packet-id", ctx.packet_id),
            *(prop("account-scope", account) for account in ctx.accounts),
            *(prop("run", run.id) for run in status.runs),
            prop("tool", f"auditpack {ctx.tool_version}"),
        ),
        "roles": [
            {"id": "prepared-for", "title": "Prepared for"},
            {"id": "cloud-service-provider", "title": "Cloud service provider"},
        ],
    }
    if regions:
        found["locations"] = [location(ctx, region) for region in regions]
    found["parties"] = [
        {"uuid": org_uuid(ctx), "type": "organization", "name": org_name(ctx)},
        {"uuid": aws_uuid(ctx), "type": "organization", "name": "Amazon Web Services", "short-name": "AWS"},
    ]
    found["responsible-parties"] = [
        {"role-id": "prepared-for", "party-uuids": [org_uuid(ctx)]},
        {"role-id": "cloud-service-provider", "party-uuids": [aws_uuid(ctx)]},
    ]
    return found


def location(ctx: ExportContext, region: str) -> dict[str, Any]:
    title = "AWS, account-wide services (IAM, Organizations)" if region == GLOBAL else f"AWS region {region}"
    return {"uuid": region_uuid(ctx, region), "title": title, "props": props(prop("region", region))}


def tool_component(ctx: ExportContext) -> dict[str, Any]:
    return {
        "uuid": tool_uuid(ctx),
        "type": "software",
        "title": "auditpack",
        "description": "Collects AWS evidence read-only, runs checks over it and evaluates framework controls.",
        "props": props(prop("version", ctx.tool_version)),
        "status": OPERATIONAL,
    }


def account_component(ctx: ExportContext, account: str) -> dict[str, Any]:
    return {
        "uuid": account_uuid(ctx, account),
        "type": "system",
        "title": f"AWS account {account}",
        "description": f"The AWS account {account}, as far as auditpack collected it.",
        "props": props(prop("account-id", account)),
        "status": OPERATIONAL,
    }


def tool_origin(ctx: ExportContext) -> dict[str, Any]:
    return {"actors": [{"type": "tool", "actor-uuid": tool_uuid(ctx)}]}


# -- evidence items -----------------------------------------------------------------------------------------------


def inventory_uuid(ctx: ExportContext, account: str, region: str, resource_id: str) -> str:
    return ctx.ids("inventory-item", account, region, resource_id)


def inventory_item(ctx: ExportContext, resource: ResourceRow) -> dict[str, Any]:
    return {
        "uuid": inventory_uuid(ctx, resource.account_id, resource.region, resource.resource_id),
        "description": f"{resource.service} {resource.resource_type} in AWS account {resource.account_id}",
        "props": props(
            {"name": "asset-id", "value": line(resource.resource_id)},
            prop("account-id", resource.account_id),
            prop("region", resource.region),
            prop("service", resource.service),
            prop("resource-type", resource.resource_type),
            prop("owner", resource.owner),
        ),
        "implemented-components": [{"component-uuid": account_uuid(ctx, resource.account_id)}],
    }


def observation_uuid(ctx: ExportContext, row: EvidenceRow) -> str:
    return ctx.ids("observation", "evidence", row.id)


def payload_uuid(ctx: ExportContext, sha256: str) -> str:
    return ctx.ids("resource", "payload", sha256)


def subjects(ctx: ExportContext, account: str, region: str, resource_id: str | None) -> list[dict[str, Any]]:
    """The resource (an inventory item), its account (a component) and its region (a location)."""
    found = []
    if resource_id is not None:
        found.append({"subject-uuid": inventory_uuid(ctx, account, region, resource_id), "type": "inventory-item"})
    found.append({"subject-uuid": account_uuid(ctx, account), "type": "component", "title": f"AWS account {account}"})
    found.append({"subject-uuid": region_uuid(ctx, region), "type": "location", "title": region})
    return found


def observation(ctx: ExportContext, row: EvidenceRow) -> dict[str, Any]:
    """An evidence item: what auditpack read (method TEST: automated collection, read by the checks)."""
    expires = row.observed_at + timedelta(hours=ctx.status.freshness_hours)
    return {
        "uuid": observation_uuid(ctx, row),
        "title": line(f"{row.kind}: {row.resource_id}"),
        "description": f"auditpack read {row.kind} ({row.service}).",
        "props": props(
            prop("evidence-id", row.id),
            prop("run", row.run_id),
            prop("kind", row.kind),
            prop("owner", row.owner),
        ),
        "methods": ["TEST"],
        "origins": [tool_origin(ctx)],
        "subjects": subjects(ctx, row.account_id, row.region, row.resource_id),
        "relevant-evidence": [{"href": f"#{payload_uuid(ctx, row.sha256)}", "description": "Canonical JSON payload"}],
        "collected": when(row.observed_at),
        "expires": when(expires),  # after this the evidence is stale (AUDITPACK_FRESHNESS_HOURS): never a pass
    }


def payload_resource(ctx: ExportContext, sha256: str, version: int, items: int) -> dict[str, Any]:
    where = PAYLOAD_IN_BUNDLE if ctx.in_bundle else PAYLOAD_IN_STORE
    return {
        "uuid": payload_uuid(ctx, sha256),
        "title": f"Evidence payload {sha256}",
        "description": where,
        "props": props(prop("canonical-version", version), prop("evidence-items", items)),
        "rlinks": [
            {
                "href": f"/v1/evidence/{sha256}",
                "media-type": "application/json",
                "hashes": [{"algorithm": "SHA-256", "value": sha256}],
            }
        ],
    }


PAYLOAD_IN_BUNDLE = "A line of evidence/evidence.ndjson in the packet bundle (canonical JSON; the line hashes to it)."
PAYLOAD_IN_STORE = "Canonical JSON in auditpack's evidence store, served at the link by the auditpack API."


# -- gaps -----------------------------------------------------------------------------------------------------------


def gap_uuid(ctx: ExportContext, key: GapKey) -> str:
    return ctx.ids("observation", "gap", *key)


def gap_observations(ctx: ExportContext) -> list[dict[str, Any]]:
    """Evidence that could not be collected: shown as such, and why the controls resting on it are incomplete."""
    found = []
    for key, first_seen in ctx.gap_first_seen.items():
        account, region, service, operation, error_code, kind, resource_id = key
        found.append(
            {
                "uuid": gap_uuid(ctx, key),
                "title": line(f"Not collected: {service} {operation} ({error_code})"),
                "description": f"auditpack could not read {kind or operation} from {service} in AWS account "
                f"{account} ({region}){f' for {resource_id}' if resource_id else ''}: {operation} failed with "
                f"{error_code}. Checks that need it report an error, so the controls resting on them are "
                "incomplete, never met.",
                "props": props(
                    prop("gap", "true"),
                    prop("service", service),
                    prop("operation", operation),
                    prop("error-code", error_code),
                    prop("kind", kind),
                    prop("resource-id", resource_id),
                ),
                "methods": ["TEST"],
                "origins": [tool_origin(ctx)],
                "subjects": subjects(ctx, account, region, None),
                "collected": when(first_seen),
            }
        )
    return found
