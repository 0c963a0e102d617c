"""The plan of action and milestones: an item per control that is not satisfied (not met, excepted, evidence
needed, incomplete) and per failing check result, with the remediation, the owner and, for an exception, the
approved deviation and its expiry. It carries the risks, observations and findings its items point at."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from typing import Any

import orjson

from frameworks.results import ControlResult, OverallStatus
from reports.oscal import POAM, SSP
from reports.oscal.context import ExportContext, FailingResult
from reports.oscal.encoded import (
    ResultProps,
    batches,
    inventory_items,
    observation_refs,
    observations,
    payload_resources,
    prop_bytes,
)
from reports.oscal.evidence import ResourceRow
from reports.oscal.findings import (
    attestation_resources,
    control_finding,
    evidence_observations,
    finding_uuid,
    label,
    risk_items,
    risk_uuid,
    satisfied,
)
from reports.oscal.ids import subject_name
from reports.oscal.jsonstream import Stream
from reports.oscal.memo import Cached
from reports.oscal.parts import (
    account_component,
    gap_observations,
    gap_uuid,
    line,
    metadata,
    observation_uuid,
    prop,
    props,
    tool_component,
    tool_uuid,
    when,
)
from reports.oscal.scope import catalog_resource

SYSTEM_ID_TYPE = "http://ietf.org/rfc/rfc4122"


def system_id(ctx: ExportContext) -> dict[str, str]:
    return {"identifier-type": SYSTEM_ID_TYPE, "id": ctx.ids("system")}


def _origins(ctx: ExportContext) -> list[dict[str, Any]]:
    return [{"actors": [{"type": "tool", "actor-uuid": tool_uuid(ctx)}]}]


def document(ctx: ExportContext) -> dict[str, Any]:
    rows = ctx.failing_evidence
    gaps = gap_observations(ctx)
    known = {observation_uuid(ctx, row) for row in rows} | {gap["uuid"] for gap in gaps}
    resources = {
        (row.account_id, row.region, row.resource_id): ResourceRow(
            row.account_id, row.region, row.resource_id, row.service, row.resource_type, row.owner
        )
        for row in rows
    }
    accounts = sorted({key[0] for key in resources} | {key[0] for key in ctx.gap_first_seen})
    regions = sorted({key[1] for key in resources} | {key[1] for key in ctx.gap_first_seen})
    open_controls = [control for control in ctx.requirements if not satisfied(control)]
    local: dict[str, Any] = {
        "components": [tool_component(ctx), *(account_component(ctx, account) for account in accounts)]
    }
    # encoded as the assessment results' are (the same bytes as the dicts of `parts`, a fraction of the CPU)
    local["inventory-items"] = Stream(lambda: inventory_items(ctx, (resources[key] for key in sorted(resources))))
    payloads: dict[str, tuple[int, int]] = {}  # sha256 -> (canonical version, evidence items resting on it)
    for row in rows:
        version, count = payloads.get(row.sha256, (row.canonical_version, 0))
        payloads[row.sha256] = (version, count + 1)
    poam: dict[str, Any] = {
        "uuid": ctx.ids("document", POAM.name),
        "metadata": metadata(ctx, POAM, regions=regions),
        "import-ssp": {"href": SSP.filename, "remarks": "The SSP fragment written beside this document."},
        "system-id": system_id(ctx),
        "local-definitions": local,
        "observations": Stream(lambda: chain(observations(ctx, rows), gaps)),
        "risks": Stream(lambda: risk_items(ctx)),  # each risk's observations are all here (see risk_items)
        "findings": Stream(lambda: (control_finding(ctx, control, known=known) for control in open_controls)),
        "poam-items": Stream(lambda: _items(ctx, open_controls, known)),  # never empty: see _items
        "back-matter": {
            "resources": Stream(
                lambda: chain(
                    catalog_resource(ctx),
                    attestation_resources(ctx),
                    payload_resources(
                        ctx, ((sha, version, count) for sha, (version, count) in sorted(payloads.items()))
                    ),
                )
            )
        },
    }
    return {POAM.root: poam}


def _items(ctx: ExportContext, open_controls: list[ControlResult], known: set[str]) -> Iterator[object]:
    for control in open_controls:
        yield _control_item(ctx, control, known)
    open_ids = {control.control_id for control in open_controls}
    yield from result_items(ctx, known, open_ids)
    if not open_controls and not ctx.failing:
        yield {  # a POA&M holds at least one item: say that nothing is open, rather than write an invalid document
            "uuid": ctx.ids("poam-item", "none"),
            "title": "No open item",
            "description": f"As of {when(ctx.status.as_of)} every requirement of {ctx.status.name} "
            f"{ctx.status.version} is met, inherited or not applicable, and no check fails.",
            "props": props(prop("poam-status", "none")),
            "origins": _origins(ctx),
        }


def _owners(ctx: ExportContext, control: ControlResult) -> list[str]:
    """Who answers for the control: the owners of its failing and errored resources, and of the customer evidence
    items behind it (approved, awaiting review or expired)."""
    owners: set[str] = set()
    for verdict in control.checks:
        for finding in (*verdict.failing, *(e.finding for e in verdict.excepted), *verdict.errored):
            if finding.owner:
                owners.add(finding.owner)
    for item_id in (*control.evidence_items, *control.evidence_submitted, *control.evidence_expired):
        item = ctx.items.get(item_id)
        if item is not None and item.owner:
            owners.add(item.owner)
    return sorted(owners)


def _what_to_do(control: ControlResult) -> str:
    if control.status is OverallStatus.NOT_MET:
        fixes = [
            f"- `{v.check_id}` ({v.failed} failing): {v.remediation.console} CLI: `{v.remediation.cli}`"
            for v in control.checks
            if v.failing
        ]
        return "Remediate the failing resources (one item each below):\n\n" + "\n".join(fixes)
    if control.status is OverallStatus.EXCEPTED:
        return "Every failure is covered by an approved exception (a deviation); remediate before it expires."
    if control.status is OverallStatus.EVIDENCE_NEEDED:
        asked = control.guidance or "the documents or attestations the catalog asks for"
        return f"Supply and approve the customer evidence: {asked}" + (
            f" An auditor expects: {control.expected_evidence}" if control.expected_evidence else ""
        )
    return (
        "Collect the missing evidence: fix the access or the errors the gaps name and run `auditpack collect` "
        "again (stale evidence: collect within the freshness window)."
    )


def _control_item(ctx: ExportContext, control: ControlResult, known: set[str]) -> dict[str, Any]:
    owners = _owners(ctx, control)
    item: dict[str, Any] = {
        "uuid": ctx.ids("poam-item", "control", control.control_id),
        "title": line(f"{control.control_id} {control.title}: {label('control_status', control.status)}"),
        "description": f"{control.status_reason}\n\n{_what_to_do(control)}",
        "props": props(
            prop("control-id", control.control_id),
            prop("overall-status", control.status.value),
            prop("responsibility", control.overall_responsibility.value),
            *(prop("owner", owner) for owner in owners),
            *(prop("exception-id", exception) for exception in control.exceptions),
        ),
        "origins": _origins(ctx),
        "related-findings": [{"finding-uuid": finding_uuid(ctx, control.control_id)}],
    }
    gaps = [gap_uuid(ctx, key) for key in ctx.gap_first_seen if _bears_on(key, control)]
    gaps = [uuid for uuid in gaps if uuid in known]
    if gaps:
        item["related-observations"] = [{"observation-uuid": uuid} for uuid in gaps]
    related = [risk_uuid(ctx, result) for result in ctx.failing_by_control.get(control.control_id, ())]
    if related:
        item["related-risks"] = [{"risk-uuid": uuid} for uuid in related]
    if not owners:
        item["remarks"] = (
            "No owner is recorded: tag the resources (AUDITPACK_OWNER_TAG_KEYS), map the service or account in "
            "AUDITPACK_OWNERS_FILE, or name an owner on the customer evidence items."
        )
    return item


def _bears_on(key: tuple[object, ...], control: ControlResult) -> bool:
    return any(
        (g.account_id, g.region, g.service, g.operation, g.error_code, g.kind, g.resource_id) == key
        for g in control.gaps
    )


def _result_item(ctx: ExportContext, result: FailingResult, known: set[str], open_ids: set[str]) -> dict[str, Any]:
    finding, verdict = result.finding, result.verdict
    deviation = result.exception_id is not None
    description = finding.reason or verdict.title
    if deviation:
        expiry = when(result.expires_at) if result.expires_at else "its expiry"
        description += (
            f"\n\nApproved deviation: exception {result.exception_id} accepts this failure until {expiry}; "
            "remediate before then or the control fails again."
        )
    item: dict[str, Any] = {
        "uuid": ctx.ids("poam-item", "result", *result.key),
        "title": line(f"{finding.check_id} fails on {finding.resource_id}"),
        "description": description,
        "props": props(
            prop("check-id", finding.check_id),
            prop("severity", verdict.severity.value),
            prop("account-id", finding.account_id),
            prop("region", finding.region),
            prop("resource-id", finding.resource_id),
            prop("owner", finding.owner or "unassigned"),
            prop("poam-status", "deviation-approved" if deviation else "open"),
            prop("exception-id", result.exception_id),
            prop("deviation-expires", when(result.expires_at) if deviation and result.expires_at else None),
            *(prop("control-id", control) for control in result.controls),
        ),
        "origins": _origins(ctx),
        "related-risks": [{"risk-uuid": risk_uuid(ctx, result)}],
        "remarks": f"Remediation. Console: {verdict.remediation.console}\n\nCLI: `{verdict.remediation.cli}`",
    }
    # The findings of the controls it keeps open (a HIPAA addressable specification met by a documented
    # alternative keeps its failing results, and has no finding in this document).
    findings = [finding_uuid(ctx, control) for control in result.controls if control in open_ids]
    if findings:
        item["related-findings"] = [{"finding-uuid": uuid} for uuid in findings]
    observations = [uuid for uuid in evidence_observations(ctx, finding) if uuid in known]
    if observations:
        item["related-observations"] = [{"observation-uuid": uuid} for uuid in observations]
    return item


def result_items(ctx: ExportContext, known: set[str], open_ids: set[str]) -> Iterator[orjson.Fragment]:
    """`_result_item(ctx, result, known, open_ids)` of every failing result, encoded: the bytes `orjson.dumps` gives
    for the dict (tested), its repeating pieces (a check's props and remarks, an account's and region's props, a set
    of controls and their findings) encoded once and its UUIDs minted a batch at a time (`findings.risks` does the
    same for the risks). A deviation (a result under an exception) is built as the dict."""
    origins = b',"origins":' + orjson.dumps(_origins(ctx)) + b',"related-risks":[{"risk-uuid":"'
    checks = Cached(lambda key: _check_parts(*key))
    shared = ResultProps()

    def open_findings(ids: tuple[str, ...]) -> bytes:
        uuids = [finding_uuid(ctx, control) for control in ids if control in open_ids]
        listed = b",".join([b'{"finding-uuid":"' + uuid.encode() + b'"}' for uuid in uuids])
        return b',"related-findings":[' + listed + b"]" if listed else b""

    findings = Cached(open_findings)
    mint = ctx.ids.mint
    for batch in batches(ctx.failing.values()):
        uuids = mint([subject_name("poam-item", "result", *result.key) for result in batch])
        for result, uuid in zip(batch, uuids, strict=True):
            if result.exception_id is not None:
                yield orjson.Fragment(orjson.dumps(_result_item(ctx, result, known, open_ids)))
                continue
            finding, verdict = result.finding, result.verdict
            check_props, remarks = checks[
                finding.check_id, verdict.severity.value, verdict.remediation.console, verdict.remediation.cli
            ]
            props = (
                check_props
                + shared.place(finding)
                + shared.owner(finding.owner or "unassigned")
                + _OPEN
                + shared.controls(result.controls)
            )
            observations = [uuid for uuid in evidence_observations(ctx, finding) if uuid in known]
            yield orjson.Fragment(
                b"".join(
                    (
                        b'{"uuid":"',
                        uuid,
                        b'","title":',
                        orjson.dumps(line(f"{finding.check_id} fails on {finding.resource_id}")),
                        b',"description":',
                        orjson.dumps(finding.reason or verdict.title),
                        b',"props":[',
                        props[1:],  # without the first prop's leading comma
                        b"]",
                        origins,
                        risk_uuid(ctx, result).encode(),
                        b'"}]',
                        remarks,
                        findings[result.controls],
                        observation_refs(observations),
                        b"}",
                    )
                )
            )


_OPEN = prop_bytes("poam-status", "open")


def _check_parts(check_id: str, severity: str, console: str, cli: str) -> tuple[bytes, bytes]:
    """A check's part of its POA&M items: its props (each with a leading comma) and its remarks."""
    remarks = f"Remediation. Console: {console}\n\nCLI: `{cli}`"
    return (
        prop_bytes("check-id", check_id) + prop_bytes("severity", severity),
        b',"remarks":' + orjson.dumps(remarks),
    )
