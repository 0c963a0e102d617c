"""`auditpack findings`: the check verdicts of the latest complete or partial run, one per check and resource;
as a table, JSON, OCSF or ASFF (NDJSON, streamed), or imported into Security Hub."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from auditpack.cli.output import err, out, print_json
from core.errors import AuditpackError, InputError, NotFoundError
from evidence.checks.status import FindingStatus

if TYPE_CHECKING:
    from evidence.checks.types import Finding

_COLOURS = {"pass": "green", "fail": "red", "error": "magenta", "not_applicable": "dim"}


class FindingsFormat(enum.StrEnum):
    table = "table"
    json = "json"
    ocsf = "ocsf"  # OCSF Compliance Finding events (class 2003), one per line
    asff = "asff"  # AWS Security Finding Format, one per line, ready for BatchImportFindings


def findings(
    check: str | None = typer.Option(None, "--check", help="Only this check id, e.g. s3.default_encryption."),
    status: FindingStatus | None = typer.Option(None, "--status", help="Only this status."),
    account: str | None = typer.Option(None, "--account", help="Only this account id."),
    run_id: int | None = typer.Option(None, "--run", help="A specific run (default: the latest complete or partial)."),
    reevaluate: bool = typer.Option(
        False, "--reevaluate", help="Re-derive the run's findings with the current checks and thresholds first."
    ),
    framework: str | None = typer.Option(
        None, "--framework", help="Only checks this framework's requirements name (hipaa, pci-dss, soc2, ...)."
    ),
    output: FindingsFormat = typer.Option(
        FindingsFormat.table, "--format", help="table, json, ocsf or asff (ocsf and asff: NDJSON, streamed)."
    ),
    out_file: Path | None = typer.Option(
        None, "--out", help="Write json/ocsf/asff to this file (replaced only once complete) instead of stdout."
    ),
    push_securityhub: bool = typer.Option(
        False, "--push-securityhub", help="Import the findings (as ASFF) into Security Hub with BatchImportFindings."
    ),
    region: str | None = typer.Option(
        None, "--region", help="Security Hub region for asff and --push-securityhub (default: the AWS profile's)."
    ),
    profile: str | None = typer.Option(None, "--profile", help="AWS profile for --push-securityhub."),
    role_name: str | None = typer.Option(
        None, "--role-name", help="Role assumed to import findings of accounts other than the caller's."
    ),
) -> None:
    """Show findings: pass, fail, not_applicable, or error where the evidence needed is a gap; export them as OCSF
    or ASFF, or import them into Security Hub."""
    # imported here: the checks, the store and SQLAlchemy load for this command, not for every CLI start-up
    from auditpack.collection import thresholds_from_settings
    from auditpack.settings import load_settings
    from auditpack.wiring import open_store
    from evidence.checks.evaluate import evaluate_run
    from evidence.checks.registry import check_ids
    from evidence.findings import has_findings, load_findings, save_findings

    _check_options(output, out_file, push_securityhub)
    if check is not None and check not in check_ids():
        close = sorted(c for c in check_ids() if c.split(".")[0] == check.split(".")[0]) or sorted(check_ids())
        raise InputError(f"unknown check id {check!r}", hint=f"known ids include: {', '.join(close[:8])}")
    settings = load_settings()
    store = open_store(settings)
    run = store.get_run(run_id) if run_id is not None else store.latest_run()
    if run is None:
        raise NotFoundError("there is no complete or partial run yet", hint="run `auditpack collect` first")
    if reevaluate or not has_findings(store, run.id):
        thresholds = thresholds_from_settings(settings)
        save_findings(store, run.id, evaluate_run(store, run.id, thresholds=thresholds), thresholds=thresholds)
    if push_securityhub or output in (FindingsFormat.ocsf, FindingsFormat.asff) or framework is not None:
        _interchange(
            store,
            run,
            settings,
            output,
            out_file,
            push_securityhub,
            region,
            profile,
            role_name,
            framework,
            check=check,
            status=status.value if status else None,
            account=account,
        )
        return
    rows = load_findings(store, run.id, check_id=check, status=status.value if status else None, account_id=account)
    if output is FindingsFormat.json:
        _print_json([as_json(finding) for finding in rows], out_file)
        return
    _print_table(run.id, rows)


def _check_options(output: FindingsFormat, out_file: Path | None, push: bool) -> None:
    if push and output not in (FindingsFormat.table, FindingsFormat.json):
        raise InputError("--push-securityhub sends ASFF itself; its report is shown with --format table or json")
    if push and out_file is not None:
        raise InputError("--out writes an export; with --push-securityhub write the ASFF with --format asff first")
    if out_file is not None and output is FindingsFormat.table:
        raise InputError("--out takes --format json, ocsf or asff")


def _interchange(
    store: Any,
    run: Any,
    settings: Any,
    output: FindingsFormat,
    out_file: Path | None,
    push: bool,
    region: str | None,
    profile: str | None,
    role_name: str | None,
    framework: str | None,
    **filters: Any,
) -> None:
    from auditpack.cli import findings_export

    selection = findings_export.Selection(store, run, framework=framework, settings=settings, **filters)
    if push:
        target = findings_export.security_hub_region(region, profile)
        report = findings_export.push(selection, region=target, profile=profile, role_name=role_name)
        if output is FindingsFormat.json:
            print_json(
                {
                    "run_id": run.id,
                    "region": target,
                    "total": report.total,
                    "imported": report.imported,
                    "calls": report.calls,
                    "resent": report.resent,
                    "rejected": [vars_of(r) for r in report.rejected],
                }
            )
        if not report.ok:
            raise ImportFailed(report.summary())
        if output is FindingsFormat.table:
            out.print(report.summary())
        return
    if output in (FindingsFormat.ocsf, FindingsFormat.asff):
        target = findings_export.security_hub_region(region, profile) if output is FindingsFormat.asff else None
        written = findings_export.export(selection, output.value, out=out_file, region=target)
        err.print(
            f"{written} {output.value} findings of run {run.id}" + (f" written to {out_file}" if out_file else "")
        )
        return
    rows = list(selection.findings())
    if output is FindingsFormat.json:
        _print_json([as_json(finding) for finding in rows], out_file)
        return
    _print_table(run.id, rows)


def vars_of(rejected: Any) -> dict[str, str]:
    return {
        "id": rejected.finding_id,
        "account_id": rejected.account_id,
        "code": rejected.code,
        "message": rejected.message,
    }


class ImportFailed(AuditpackError):
    """Some findings were not imported into Security Hub (exit 1); the message lists each."""


def _print_json(data: list[dict[str, Any]], out_file: Path | None) -> None:
    if out_file is None:
        print_json(data)
        return
    import json

    out_file.write_text(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n", encoding="utf-8")


def as_json(finding: Finding) -> dict[str, Any]:
    from core.canonical import rfc3339
    from evidence.checks.registry import check_metadata

    meta = check_metadata()[finding.check_id]
    return {
        "check_id": finding.check_id,
        "title": meta.title,
        "severity": meta.severity.value,
        "status": finding.status.value,
        "account_id": finding.account_id,
        "region": finding.region,
        "resource_id": finding.resource_id,
        "resource_type": finding.resource_type,
        "owner": finding.owner,
        "observed_at": rfc3339(finding.observed_at) if finding.observed_at else None,
        "reason": finding.reason,
        "evidence": list(finding.evidence),
    }


def _print_table(run_id: int, rows: list[Finding]) -> None:
    table = Table(title=f"findings of run {run_id}")
    for column in ("check", "status", "account", "region"):
        table.add_column(column, no_wrap=True)
    table.add_column("resource", overflow="fold")
    table.add_column("reason", overflow="fold")
    counts: dict[str, int] = {}
    for finding in rows:
        status = finding.status.value
        counts[status] = counts.get(status, 0) + 1
        colour = _COLOURS.get(status, "white")
        table.add_row(
            finding.check_id,
            f"[{colour}]{status}[/{colour}]",
            finding.account_id,
            finding.region,
            finding.resource_id,
            finding.reason,
        )
    out.print(table)
    err.print(", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no findings match")
