"""Per-control findings and the risks of failing check results, shared by the assessment results and the POA&M.

A finding's target status is satisfied or not-satisfied (OSCAL has nothing else); auditpack's overall status
travels beside it in the `overall-status` prop. Satisfied: met, inherited (AWS's attestation covers it), not
applicable (nothing in scope it could fail on). Not satisfied: not met, excepted (the failures are approved
deviations, see the risks), evidence needed, incomplete (a gap, an error or stale evidence: never a pass).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from evidence.checks.types import Finding
from frameworks.results import ControlResult, OverallStatus
from reports.oscal import NS
from reports.oscal.captures import operation_props
from reports.oscal.context import ExportContext, FailingResult, gap_key
from reports.oscal.customer import customer_observation_uuid
from reports.oscal.encoded import ResultProps, batches, observation_refs, prop_bytes
from reports.oscal.ids import subject_name
from reports.oscal.memo import Cached
from reports.oscal.parts import (
    gap_uuid,
    line,
    observation_uuid,
    prop,
    props,
    tool_origin,
    when,
)
from reports.render import labels

SATISFIED = {OverallStatus.MET, OverallStatus.INHERITED, OverallStatus.NOT_APPLICABLE}
REASON = {  # ObjectiveStatus.reason: pass | fail | other
    OverallStatus.MET: "pass",
    OverallStatus.INHERITED: "pass",
    OverallStatus.NOT_APPLICABLE: "other",
    OverallStatus.NOT_MET: "fail",
    OverallStatus.EXCEPTED: "fail",
    OverallStatus.EVIDENCE_NEEDED: "other",
    OverallStatus.INCOMPLETE: "other",
}


def satisfied(control: ControlResult) -> bool:
    return control.status in SATISFIED


def label(kind: str, value: object) -> str:
    key = str(getattr(value, "value", value))
    entry = labels()[kind].get(key)
    return entry["label"] if entry else key.replace("_", " ")


def finding_uuid(ctx: ExportContext, control_id: str) -> str:
    return ctx.ids("finding", control_id)


def risk_uuid(ctx: ExportContext, result: FailingResult) -> str:
    """`ids("risk", *result.key)`, minted with every other result's (`ExportContext.risk_uuids`)."""
    return ctx.risk_uuids[result]


def evidence_observations(ctx: ExportContext, finding: Finding) -> tuple[str, ...]:
    """The UUIDs of the observations of the evidence a finding rests on (`ExportContext.evidence_of`), each once."""
    known = ctx.observations_of.get(id(finding))
    if known is not None and known[0] is finding:
        return known[1]
    found = tuple(dict.fromkeys(observation_uuid(ctx, row) for row in ctx.evidence_of(finding)))
    ctx.observations_of[id(finding)] = (finding, found)
    return found


def attestation_uuid(ctx: ExportContext, name: str) -> str:
    return ctx.ids("resource", "aws-attestation", name)


def control_risks(ctx: ExportContext, control: ControlResult) -> list[str]:
    return [risk_uuid(ctx, result) for result in ctx.failing_by_control.get(control.control_id, ())]


def _related_observations(ctx: ExportContext, control: ControlResult, known: Collection[str] | None) -> list[str]:
    found: dict[str, None] = {}
    for verdict in control.checks:
        for finding in (*verdict.failing, *(e.finding for e in verdict.excepted), *verdict.errored):
            for uuid in evidence_observations(ctx, finding):
                found[uuid] = None
    for gap in control.gaps:
        if gap_key(gap) in ctx.gap_first_seen:
            found[gap_uuid(ctx, gap_key(gap))] = None
    for item_id in (*control.evidence_items, *control.evidence_expired):
        if item_id in ctx.relied_on:
            found[customer_observation_uuid(ctx, item_id)] = None
    for uuid in ctx.capture_failures.get(control.control_id, ()):  # a period's captures it failed at
        found[uuid] = None
    return [uuid for uuid in found if known is None or uuid in known]


def _check_lines(control: ControlResult) -> str:
    rows = [
        f"- `{v.check_id}` ({v.title}): {v.status.value}; pass {v.passed}, fail {v.failed}, "
        f"excepted {len(v.excepted)}, evidence missing {v.errors}, not applicable {v.not_applicable}, stale {v.stale}"
        for v in control.checks
    ]
    return "Checks:\n\n" + "\n".join(rows) if rows else ""


def _remarks(control: ControlResult) -> str | None:
    parts = [_check_lines(control)]
    if control.status is OverallStatus.EVIDENCE_NEEDED and control.guidance:
        parts.append(f"Evidence to supply: {control.guidance}")
    if control.expected_evidence:
        parts.append(f"An auditor expects: {control.expected_evidence}")
    if control.aws_evidence:
        parts.append(
            "AWS's part is covered by: " + "; ".join(f"{a.name} ({a.source}): {a.covers}" for a in control.aws_evidence)
        )
    text = "\n\n".join(part for part in parts if part)
    return text or None


def control_finding(ctx: ExportContext, control: ControlResult, *, known: Collection[str] | None = None) -> dict:
    """The finding for one control; `known`: the observation uuids the document holds (None: all of them)."""
    token = ctx.tokens[control.control_id]
    found: dict[str, Any] = {
        "uuid": finding_uuid(ctx, control.control_id),
        "title": line(f"{control.control_id} {control.title}"),
        "description": control.status_reason or label("control_status", control.status),
        "props": props(
            prop("control-id", control.control_id),
            prop("overall-status", control.status.value),
            prop("automated-result", control.automated.value),
            prop("customer-evidence", control.evidence.value),
            prop("automation", control.automation.value),
            prop("responsibility", control.overall_responsibility.value),
            *(prop("responsibility", r.value, cls=service) for service, r in control.responsibility.items()),
            prop("requirement-type", control.requirement_type),
            prop("in-scope", "true" if control.in_scope else "false"),
            prop("resources-passing", control.passed),
            prop("resources-failing", control.failed),
            prop("resources-excepted", control.excepted),
            prop("stale-findings", control.stale),
            *(prop("check-status", v.status.value, cls=v.check_id) for v in control.checks),
            *(prop("exception-id", exception) for exception in control.exceptions),
            *(prop("customer-item-id", item) for item in control.evidence_items),
            *operation_props(ctx.operations.get(control.control_id)),
        ),
    }
    links = [
        {"href": f"#{attestation_uuid(ctx, a.name)}", "rel": "reference", "text": line(a.covers)}
        for a in control.aws_evidence
    ]
    if links:
        found["links"] = links
    found["origins"] = [tool_origin(ctx)]
    found["target"] = {
        "type": "objective-id",
        "target-id": f"{token}_obj",
        "title": line(f"{control.control_id}: {label('control_status', control.status)}"),
        "status": {
            "state": "satisfied" if satisfied(control) else "not-satisfied",
            "reason": REASON[control.status],
        },
    }
    observations = _related_observations(ctx, control, known)
    if observations:
        found["related-observations"] = [{"observation-uuid": uuid} for uuid in observations]
    risks = control_risks(ctx, control)
    if risks:
        found["related-risks"] = [{"risk-uuid": uuid} for uuid in risks]
    remarks = _remarks(control)
    if remarks:
        found["remarks"] = remarks
    return found


def attestation_resources(ctx: ExportContext) -> list[dict[str, Any]]:
    """One back-matter resource per AWS attestation the controls cite (obtained from AWS Artifact)."""
    seen: dict[str, str] = {}
    for control in ctx.requirements:
        for attestation in control.aws_evidence:
            seen.setdefault(attestation.name, attestation.source)
    return [
        {
            "uuid": attestation_uuid(ctx, name),
            "title": line(name),
            "description": f"{name}, obtained from {source}: AWS's own attestation of the part of the controls "
            "AWS operates. auditpack cites it; it is not a check auditpack ran.",
            "citation": {"text": f"{name} ({source})"},
        }
        for name, source in sorted(seen.items())
    ]


# -- risks ---------------------------------------------------------------------------------------------------------


def risk_items(ctx: ExportContext) -> Iterable[object]:
    """The risks array's items: read from another document's writer (`ctx.shared_risks`), or worked out here and,
    with `ctx.risk_copy`, kept encoded there for that other document. Every risk names all the observations of its
    evidence (no `known` filter): the POA&M holds an observation for each of them, so both documents carry the same
    array (at a million items, ~200 MB that took 2.6 s of CPU to make, in each)."""
    if ctx.shared_risks is not None:
        return ctx.shared_risks()
    if ctx.risk_copy is not None:
        return _kept(risks(ctx), ctx.risk_copy)
    return risks(ctx)


def _kept(items: Iterable[object], path: Path) -> Iterator[orjson.Fragment]:
    """Each item encoded, written to `path` one per line as well; the file appears only once complete."""
    partial = path.with_name(path.name + ".part")
    with partial.open("wb") as out:
        for item in items:
            encoded = orjson.dumps(item)
            out.write(encoded + b"\n")
            yield orjson.Fragment(encoded)
    partial.replace(path)


def read_risks(path: Path, ready: Callable[[], object]) -> Iterator[orjson.Fragment]:
    """The risks another document's writer kept at `path`, once `ready()` says it has finished."""
    ready()
    with path.open("rb") as source:
        for line in source:
            yield orjson.Fragment(line[:-1])


def risks(ctx: ExportContext) -> Iterator[orjson.Fragment]:
    """`risk(ctx, result)` of every failing result, encoded: the bytes `orjson.dumps` gives for the dict (tested),
    from pieces that repeat across results (a check's props and remediation, an account's and region's props, a
    set of controls) encoded once, and the UUIDs minted a batch at a time. At a million items the dicts were a third
    of the POA&M's CPU (issue 18). A result under an exception (its mitigation, deadline and log) is rare and is
    built as the dict."""
    origin = orjson.dumps(tool_origin(ctx))
    origins = b'"origins":[' + origin + b"]"
    checks = Cached(lambda key: _check_parts(origin, *key))
    shared = ResultProps()
    mint = ctx.ids.mint
    risk_uuids = ctx.risk_uuids
    for batch in batches(ctx.failing.values()):
        remediation_uuids = mint([subject_name("remediation", *result.key) for result in batch])
        for result, remediation in zip(batch, remediation_uuids, strict=True):
            if result.exception_id is not None:
                yield orjson.Fragment(orjson.dumps(risk(ctx, result)))
                continue
            finding, verdict = result.finding, result.verdict
            severity = verdict.severity.value
            props, characterizations, remediation_tail = checks[
                finding.check_id, severity, verdict.remediation.console, verdict.remediation.cli
            ]
            statement = (
                f"{verdict.title} ({finding.check_id}, severity {severity}) fails for {finding.resource_id} in AWS "
                f"account {finding.account_id} ({finding.region}). Controls: " + ", ".join(result.controls) + "."
            )
            props += shared.place(finding) + shared.owner(finding.owner) + shared.controls(result.controls)
            yield orjson.Fragment(
                b"".join(
                    (
                        b'{"uuid":"',
                        risk_uuids[result].encode(),
                        b'","title":',
                        orjson.dumps(line(f"{finding.check_id} fails on {finding.resource_id}")),
                        b',"description":',
                        orjson.dumps(finding.reason or verdict.title),
                        b',"statement":',
                        orjson.dumps(statement),
                        b',"props":[',
                        props[1:],  # without the first prop's leading comma
                        b'],"status":"open",',
                        origins,
                        characterizations,
                        b',"remediations":[{"uuid":"',
                        remediation,
                        remediation_tail,
                        observation_refs(evidence_observations(ctx, finding)),
                        b"}",
                    )
                )
            )


def _check_parts(origin: bytes, check_id: str, severity: str, console: str, cli: str) -> tuple[bytes, bytes, bytes]:
    """A check's part of its risks: its props (each with a leading comma), its characterizations and what follows a
    remediation's UUID."""
    facets = [{"name": "severity", "system": NS, "value": severity}]
    return (
        prop_bytes("check-id", check_id) + prop_bytes("severity", severity),
        b',"characterizations":[{"origin":' + origin + b',"facets":' + orjson.dumps(facets) + b"}]",
        b'","lifecycle":"recommendation","title":'
        + orjson.dumps(line(f"Remediate {check_id}"))
        + b',"description":'
        + orjson.dumps(f"Console: {console}\n\nCLI: `{cli}`")
        + b"}]",
    )


def risk(ctx: ExportContext, result: FailingResult, *, known: Collection[str] | None = None) -> dict[str, Any]:
    finding, verdict = result.finding, result.verdict
    exception = ctx.exceptions.get(result.exception_id) if result.exception_id is not None else None
    found: dict[str, Any] = {
        "uuid": risk_uuid(ctx, result),
        "title": line(f"{finding.check_id} fails on {finding.resource_id}"),
        "description": finding.reason or verdict.title,
        "statement": f"{verdict.title} ({finding.check_id}, severity {verdict.severity.value}) fails for "
        f"{finding.resource_id} in AWS account {finding.account_id} ({finding.region}). Controls: "
        + ", ".join(result.controls)
        + ".",
        "props": props(
            prop("check-id", finding.check_id),
            prop("severity", verdict.severity.value),
            prop("account-id", finding.account_id),
            prop("region", finding.region),
            prop("resource-id", finding.resource_id),
            prop("owner", finding.owner),
            prop("exception-id", result.exception_id),
            *(prop("control-id", control) for control in result.controls),
        ),
        "status": "open" if result.exception_id is None else "deviation-approved",
        "origins": [tool_origin(ctx)],
        "characterizations": [
            {
                "origin": tool_origin(ctx),
                "facets": [{"name": "severity", "system": NS, "value": verdict.severity.value}],
            }
        ],
    }
    if result.exception_id is not None:
        compensating = exception.exception.compensating if exception else "recorded in the exception"
        found["mitigating-factors"] = [
            {
                "uuid": ctx.ids("mitigating-factor", *result.key),
                "description": f"Exception {result.exception_id}, compensating controls: {compensating}",
            }
        ]
        if result.expires_at is not None:
            found["deadline"] = when(result.expires_at)
    found["remediations"] = [
        {
            "uuid": ctx.ids("remediation", *result.key),
            "lifecycle": "recommendation",
            "title": line(f"Remediate {finding.check_id}"),
            "description": f"Console: {verdict.remediation.console}\n\nCLI: `{verdict.remediation.cli}`",
        }
    ]
    if exception is not None:
        found["risk-log"] = {"entries": _log(ctx, result, exception)}
    observations = [uuid for uuid in evidence_observations(ctx, finding) if known is None or uuid in known]
    if observations:
        found["related-observations"] = [{"observation-uuid": uuid} for uuid in observations]
    return found


def _log(ctx: ExportContext, result: FailingResult, entry: Any) -> list[dict[str, Any]]:
    """The exception's history as the risk's log: requested (deviation requested), approved (deviation approved,
    until it expires), and revoked when it was."""
    exception = entry.exception
    log = [
        {
            "uuid": ctx.ids("risk-log", *result.key, "requested"),
            "title": "Deviation requested",
            "description": f"Exception {exception.id} requested by {exception.requested_by}: {exception.justification}",
            "start": when(exception.requested_at),
            "status-change": "deviation-requested",
        }
    ]
    if entry.approved_at is not None:
        log.append(
            {
                "uuid": ctx.ids("risk-log", *result.key, "approved"),
                "title": "Deviation approved",
                "description": f"Approved by {entry.approved_by}; expires {when(exception.expires_at)}.",
                "start": when(entry.approved_at),
                "end": when(exception.expires_at),
                "status-change": "deviation-approved",
            }
        )
    if entry.revoked_at is not None:
        log.append(
            {
                "uuid": ctx.ids("risk-log", *result.key, "revoked"),
                "title": "Deviation revoked",
                "description": f"Revoked by {entry.revoked_by}: {entry.revoked_reason or 'no reason given'}",
                "start": when(entry.revoked_at),
                "status-change": "open",
            }
        )
    return log
