"""`auditpack frameworks list|show`: the catalogs available and how much of each our checks cover."""

from __future__ import annotations

import typer
from rich.table import Table

from auditpack.cli.output import OutputFormat, out, print_json
from auditpack.settings import load_settings
from auditpack.wiring import load_framework_catalogs
from frameworks.coverage import coverage
from frameworks.loader import LoadedCatalog
from frameworks.render import catalog_to_dict

app = typer.Typer(
    help="Framework catalogs (HIPAA, PCI DSS, SOC 2 and your own) and their coverage.", no_args_is_help=True
)

_AUTOMATION = ("automated", "partial", "manual", "inherited")


def _describe(entry: LoadedCatalog) -> dict[str, object]:
    return catalog_to_dict(entry.catalog, coverage(entry.catalog), source=str(entry.source), packaged=entry.packaged)


@app.command("list")
def list_frameworks(output: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json")) -> None:
    """List every catalog: packaged ones and those in AUDITPACK_CATALOG_DIR, with coverage counts."""
    entries = list(load_framework_catalogs(load_settings()))
    if output is OutputFormat.json:
        print_json([_describe(entry) for entry in entries])
        return
    table = Table("id", "name", "requirements", *_AUTOMATION, "with checks")
    table.columns[0].no_wrap = True
    for entry in entries:
        cov = coverage(entry.catalog)
        table.add_row(
            entry.catalog.id,
            f"{entry.catalog.name} {entry.catalog.version}",
            str(cov.requirements),
            *(str(cov.by_automation[a]) for a in _AUTOMATION),
            str(cov.with_checks),
        )
    out.print(table)
    for entry in entries:
        if not entry.packaged:
            out.print(f"{entry.catalog.id}: user catalog {entry.source}")


@app.command("show")
def show(
    framework: str = typer.Argument(..., help="Framework id, e.g. hipaa, pci-dss, soc2."),
    controls: bool = typer.Option(False, "--controls", help="Also list every control (table output)."),
    output: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
) -> None:
    """Describe one catalog: scopes, families and coverage (how many requirements are automated, partial,
    manual, inherited) and what evidence an auditor expects. JSON output always includes every control."""
    entry = load_framework_catalogs(load_settings()).entry(framework)
    catalog, cov = entry.catalog, coverage(entry.catalog)
    if output is OutputFormat.json:
        print_json(
            {
                **_describe(entry),
                "controls": [control.model_dump(mode="json", exclude_none=True) for control in catalog.controls],
            }
        )
        return
    out.print(f"[bold]{catalog.name}[/bold] ({catalog.id}), version {catalog.version}, by {catalog.publisher}")
    out.print(f"source: {'packaged' if entry.packaged else entry.source}")
    counts = ", ".join(f"{cov.by_automation[a]} {a}" for a in _AUTOMATION)
    out.print(
        f"{cov.requirements} requirements ({counts}); {cov.with_checks} with evidence from "
        f"{len(cov.checks_used)} checks; {cov.headings} headings"
    )
    asking = [c for c in catalog.controls if c.automation in ("manual", "partial")]
    described = sum(1 for c in asking if c.expected_evidence)
    out.print(f"{described} of the {len(asking)} manual and partial requirements say what evidence an auditor expects")
    if catalog.scopes:
        scopes = Table("scope", "title", "in scope")
        for scope in catalog.scopes:
            scopes.add_row(
                scope.id, scope.title, "always" if scope.always else ("default" if scope.default else "when configured")
            )
        out.print(scopes)
    families = Table("family", "title", "requirements", *_AUTOMATION, "with checks")
    families.columns[0].no_wrap = True
    for family in cov.families:
        families.add_row(
            family.family_id,
            family.title,
            str(family.requirements),
            *(str(family.by_automation[a]) for a in _AUTOMATION),
            str(family.with_checks),
        )
    out.print(families)
    if controls:
        table = Table("id", "title", "automation", "type", "checks", "evidence an auditor expects")
        table.columns[0].no_wrap = True
        table.columns[0].min_width = max(len(control.id) for control in catalog.controls)
        for control in catalog.controls:
            table.add_row(
                control.id,
                control.title,
                "heading" if control.heading else str(control.automation),
                control.requirement_type or "",
                ", ".join(ref.id for ref in control.checks),
                control.expected_evidence or "",
            )
        out.print(table)
