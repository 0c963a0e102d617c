"""The responsibility split as an SSP fragment: one component per AWS service in use, and per control and service
OSCAL's shared responsibility constructs.

Why an SSP and not a component definition: OSCAL models shared responsibility only in the SSP's `by-component`
(a leveraged system's `export` of what it `provided` and the `responsibilities` it leaves to its customers; a
leveraging system's `inherited` and `satisfied`); a component definition has no place for them. AWS publishes no
OSCAL, so the fragment carries both sides, per control and AWS service in use:

- AWS's side, in `export`: `provided` (what AWS operates, naming the AWS attestation that covers it) and
  `responsibilities` (what it leaves to the customer);
- the customer's side: `inherited` (pointing at `provided`) and `satisfied` (pointing at the responsibility, with
  the status auditpack found).

aws -> provided + inherited; shared -> all four; customer -> responsibility + satisfied. It is a fragment: system
categorisation and information types are the organisation's to write, and say so.
"""

from __future__ import annotations

from typing import Any

from frameworks.results import ControlResult, Responsibility
from reports.oscal import CATALOG, SSP
from reports.oscal.context import ExportContext
from reports.oscal.findings import attestation_resources, attestation_uuid, label
from reports.oscal.jsonstream import Stream
from reports.oscal.parts import OPERATIONAL, aws_uuid, line, metadata, org_name, org_uuid, prop, props
from reports.oscal.poam import system_id
from reports.oscal.scope import accounts_and_regions, catalog_resource


def service_uuid(ctx: ExportContext, service: str) -> str:
    return ctx.ids("component", "aws-service", service)


def this_system_uuid(ctx: ExportContext) -> str:
    return ctx.ids("component", "this-system")


def document(ctx: ExportContext) -> dict[str, Any]:
    status = ctx.status
    accounts, regions = accounts_and_regions(ctx)
    services = list(status.matrix.services)
    where = f"the AWS accounts {', '.join(accounts)}" if accounts else "the AWS accounts in scope"
    components = [
        {
            "uuid": this_system_uuid(ctx),
            "type": "this-system",
            "title": line(f"{org_name(ctx)} on AWS"),
            "description": f"The organisation's workloads in {where}, as auditpack collected them.",
            "status": OPERATIONAL,
        },
        *(
            {
                "uuid": service_uuid(ctx, service),
                "type": "service",
                "title": f"AWS {label('service', service)}",
                "description": f"AWS {label('service', service)}, which the inventory found in use in {where}. "
                "AWS operates the service; how the line moves per control is in the control implementation.",
                "props": props(prop("service", service)),
                "status": OPERATIONAL,
                "responsible-roles": [{"role-id": "cloud-service-provider", "party-uuids": [aws_uuid(ctx)]}],
            }
            for service in services
        ),
    ]
    ssp = {
        "uuid": ctx.ids("document", SSP.name),
        "metadata": metadata(ctx, SSP, regions=regions),
        "import-profile": {
            "href": CATALOG.filename,  # a path, not '#uuid': trestle resolves an SSP's baseline by path only
            "remarks": "The framework's catalog as auditpack ships it, written beside this document (no OSCAL "
            "profile of it is published); the back-matter resource has its SHA-256.",
        },
        "system-characteristics": {
            "system-ids": [system_id(ctx)],
            "system-name": line(f"{org_name(ctx)} on AWS"),
            "description": f"A fragment of a system security plan: the AWS shared responsibility split of "
            f"{status.name} {status.version} for the AWS services found in use in {where}.",
            "props": props(*(prop("account-id", account) for account in accounts)),
            "system-information": {
                "information-types": [
                    {
                        "uuid": ctx.ids("information-type", "not-categorised"),
                        "title": "Not categorised by auditpack",
                        "description": "auditpack does not know what information the system handles: categorise "
                        "it in the organisation's system security plan, which this fragment completes.",
                    }
                ]
            },
            "status": {"state": "operational"},
            "authorization-boundary": {
                "description": f"{where.capitalize()}, in the regions {', '.join(regions) or 'none found'}."
            },
        },
        "system-implementation": {"components": components},
        "control-implementation": {
            "description": f"How each requirement of {status.name} {status.version} is split between AWS and the "
            "customer on each AWS service in use, with the status auditpack found for the customer's part.",
            "implemented-requirements": Stream(lambda: (_requirement(ctx, c, services) for c in ctx.requirements)),
        },
        "back-matter": {"resources": [*catalog_resource(ctx), *attestation_resources(ctx)]},
    }
    return {SSP.root: ssp}


def _requirement(ctx: ExportContext, control: ControlResult, services: list[str]) -> dict[str, Any]:
    split = [(service, control.responsibility.get(service, control.overall_responsibility)) for service in services]
    by_components = [_by_component(ctx, control, service, who) for service, who in split]
    if not by_components:  # no service found in use: the control's own default, on the system as a whole
        by_components = [_by_component(ctx, control, None, control.overall_responsibility)]
    return {
        "uuid": ctx.ids("implemented-requirement", control.control_id),
        "control-id": ctx.tokens[control.control_id],
        "props": props(
            prop("control-id", control.control_id),
            prop("responsibility", control.overall_responsibility.value),
            prop("automation", control.automation.value),
            prop("overall-status", control.status.value),
        ),
        "by-components": by_components,
    }


def _attestations(control: ControlResult) -> str:
    named = "; ".join(f"{a.name} ({a.source})" for a in control.aws_evidence)
    return named or "AWS's attestations (the catalog names none for this control)"


def _by_component(ctx: ExportContext, control: ControlResult, service: str | None, who: Responsibility) -> dict:
    key = service or "this-system"
    on = f"AWS {label('service', service)}" if service else "the system"
    subject = f"{control.control_id} ({line(control.title)})"
    provided_uuid = ctx.ids("provided", control.control_id, key)
    responsibility_uuid = ctx.ids("responsibility", control.control_id, key)
    found: dict[str, Any] = {
        "component-uuid": service_uuid(ctx, service) if service else this_system_uuid(ctx),
        "uuid": ctx.ids("by-component", control.control_id, key),
        "description": f"{label('responsibility', who)} on {on}.",
        "props": props(prop("responsibility", who.value)),
    }
    export: dict[str, Any] = {}
    if who in (Responsibility.AWS, Responsibility.SHARED):
        part = "" if who is Responsibility.AWS else "its part of "
        links = [
            {"href": f"#{attestation_uuid(ctx, a.name)}", "rel": "reference", "text": line(a.covers)}
            for a in control.aws_evidence
        ]
        provided: dict[str, Any] = {
            "uuid": provided_uuid,
            "description": f"AWS operates {part}{subject} for {on}; covered by {_attestations(control)}.",
        }
        if links:
            provided["links"] = links
        provided["responsible-roles"] = [{"role-id": "cloud-service-provider", "party-uuids": [aws_uuid(ctx)]}]
        export["provided"] = [provided]
        found["inherited"] = [
            {
                "uuid": ctx.ids("inherited", control.control_id, key),
                "provided-uuid": provided_uuid,
                "description": f"Inherited from AWS on {on}: evidenced by {_attestations(control)}, obtained from "
                "AWS, never a check auditpack ran.",
                "responsible-roles": [{"role-id": "cloud-service-provider", "party-uuids": [aws_uuid(ctx)]}],
            }
        ]
    if who in (Responsibility.SHARED, Responsibility.CUSTOMER):
        what = control.guidance or control.description
        responsibility: dict[str, Any] = {"uuid": responsibility_uuid}
        if who is Responsibility.SHARED:
            responsibility["provided-uuid"] = provided_uuid
        responsibility["description"] = f"The customer's part of {subject} on {on}: {what}"
        responsibility["responsible-roles"] = [{"role-id": "prepared-for", "party-uuids": [org_uuid(ctx)]}]
        export["responsibilities"] = [responsibility]
        found["satisfied"] = [
            {
                "uuid": ctx.ids("satisfied", control.control_id, key),
                "responsibility-uuid": responsibility_uuid,
                "description": f"{label('control_status', control.status)}: {control.status_reason}",
                "props": props(
                    prop("overall-status", control.status.value),
                    prop("automated-result", control.automated.value),
                    prop("customer-evidence", control.evidence.value),
                ),
                "responsible-roles": [{"role-id": "prepared-for", "party-uuids": [org_uuid(ctx)]}],
            }
        ]
    found["export"] = export
    return found
