"""What an export spans: its accounts and regions, its start, and the catalog it assesses against."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from reports.oscal import CATALOG
from reports.oscal.context import ExportContext
from reports.oscal.parts import line, prop, props


def accounts_and_regions(ctx: ExportContext) -> tuple[list[str], list[str]]:
    """The accounts and regions the export's evidence and gaps name (each becomes a component or location)."""
    accounts, regions = ctx.evidence.accounts_and_regions()
    gap_accounts = {key[0] for key in ctx.gap_first_seen}
    gap_regions = {key[1] for key in ctx.gap_first_seen}
    return sorted(set(accounts) | gap_accounts), sorted(set(regions) | gap_regions)


def start_of(ctx: ExportContext) -> datetime:
    """The period's start; as of a moment, the start of the run the status rests on (else the moment itself)."""
    if ctx.period is not None:
        return ctx.period[0]
    starts = [run.started_at for run in ctx.status.runs]
    return min(starts) if starts else ctx.status.as_of


CATALOG_MEDIA_TYPE = "application/oscal.catalog+json"


def plan_uuid(ctx: ExportContext) -> str:
    return ctx.ids("resource", "catalog")


def catalog_resource(ctx: ExportContext) -> list[dict[str, Any]]:
    status = ctx.status
    resource: dict[str, Any] = {
        "uuid": plan_uuid(ctx),
        "title": line(f"{status.name} {status.version}: auditpack catalog {status.framework_id}"),
        "description": f"The requirements of {status.name} {status.version} as auditpack's catalog "
        f"`{status.framework_id}` lists them: for each, the checks that evidence it, the documents or "
        "attestations the organisation must supply, who is responsible on each AWS service (AWS, shared or "
        "the customer) and the AWS attestation covering AWS's part. The OSCAL control ids in these documents "
        "are tokens made from the framework's ids (each finding's `control-id` prop has the exact id).",
        "props": props(
            prop("framework", status.framework_id),
            prop("framework-version", status.version),
            *(prop("scope", scope) for scope in sorted(status.scopes)),
        ),
    }
    if ctx.catalog_sha256 is not None:  # the OSCAL catalog written beside this document
        hashes = [{"algorithm": "SHA-256", "value": ctx.catalog_sha256}]
        resource["rlinks"] = [{"href": CATALOG.filename, "media-type": CATALOG_MEDIA_TYPE, "hashes": hashes}]
    return [resource]
