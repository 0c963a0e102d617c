"""`auditpack frameworks list|show|coverage`: the catalogs available and how much of each our checks cover."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from auditpack.cli.output import OutputFormat, out, print_json
from core.errors import InputError

if TYPE_CHECKING:
    from frameworks.loader import Catalogs, LoadedCatalog

app = typer.Typer(
    help="Framework catalogs (HIPAA, PCI DSS, SOC 2 and your own) and their coverage.", no_args_is_help=True
)

_AUTOMATION = ("automated", "partial", "manual", "inherited")


def _catalogs() -> Catalogs:
    """The packaged catalogs and those in AUDITPACK_CATALOG_DIR (loading them reads YAML and the check registry:
    done when a command runs, not at every CLI start-up)."""
    from auditpack.settings import load_settings
    from auditpack.wiring import load_framework_catalogs

    return load_framework_catalogs(load_settings())


def _describe(entry: LoadedCatalog) -> dict[str, object]:
    from frameworks.coverage import coverage, headline, headline_counts
    from frameworks.render import catalog_to_dict

    described = catalog_to_dict(
        entry.catalog, coverage(entry.catalog), source=str(entry.source), packaged=entry.packaged
    )
    top = headline(entry.catalog)
    described["headline"] = {
        "counts": headline_counts(entry.catalog),
        "requirements": top.requirements,
        "with_automated_evidence": top.with_checks,
    }
    return described


def _headline(entry: LoadedCatalog) -> str:
    from frameworks.coverage import headline, headline_counts

    top = headline(entry.catalog)
    return f"{top.with_checks} of {top.requirements} {headline_counts(entry.catalog)}"


@app.command("list")
def list_frameworks(output: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json")) -> None:
    """List every catalog: packaged ones and those in AUDITPACK_CATALOG_DIR, with coverage counts (requirements by
    automation level, and the headline figure of `frameworks coverage`)."""
    from frameworks.coverage import coverage

    entries = list(_catalogs())
    if output is OutputFormat.json:
        print_json([_describe(entry) for entry in entries])
        return
    table = Table("id", "name", "requirements", *_AUTOMATION, "with automated evidence")
    table.columns[0].no_wrap = True
    for entry in entries:
        cov = coverage(entry.catalog)
        table.add_row(
            entry.catalog.id,
            f"{entry.catalog.name} {entry.catalog.version}",
            str(cov.requirements),
            *(str(cov.by_automation[a]) for a in _AUTOMATION),
            _headline(entry),
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
    from frameworks.coverage import coverage

    entry = _catalogs().entry(framework)
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


class CoverageFormat(enum.StrEnum):
    table = "table"
    markdown = "markdown"
    json = "json"


@app.command("coverage")
def coverage_command(
    output: CoverageFormat = typer.Option(CoverageFormat.table, "--format", help="table, markdown or json"),
    write_docs: list[Path] = typer.Option(
        [],
        "--write-docs",
        help="Fill the <!-- coverage:start --> ... <!-- coverage:end --> blocks of this Markdown file (repeatable) "
        "from the packaged catalogs, instead of printing.",
    ),
) -> None:
    """How many requirements of each catalog have automated evidence (a check mapped to them, automated or
    partial): HIPAA's specifications in 164.308-164.312, PCI DSS requirements, SOC 2 criteria."""
    from evidence.checks.registry import check_ids
    from frameworks.coverage import coverage, headline, headline_counts
    from frameworks.coverage_report import coverage_row, rewrite_docs, summary_markdown
    from frameworks.loader import load_catalogs

    registered = check_ids()
    if write_docs:
        # The docs describe the packaged catalogs, whatever AUDITPACK_CATALOG_DIR adds on this machine.
        packaged = {entry.catalog.id: entry.catalog for entry in load_catalogs()}
        for path in write_docs:
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise InputError(f"cannot read {path}: {exc.strerror}") from exc
            updated = rewrite_docs(text, packaged, registered)
            if updated != text:
                path.write_text(updated, encoding="utf-8")
            out.print(f"{path}: {'updated' if updated != text else 'up to date'}")
        return
    entries = list(_catalogs())
    if output is CoverageFormat.json:
        print_json([coverage_row(entry.catalog, registered) for entry in entries])
        return
    if output is CoverageFormat.markdown:
        print(summary_markdown([entry.catalog for entry in entries], registered))
        return
    table = Table("id", "counted", "with automated evidence", *_AUTOMATION, "whole catalog", "checks used")
    table.columns[0].no_wrap = True
    for entry in entries:
        top, whole = headline(entry.catalog), coverage(entry.catalog)
        table.add_row(
            entry.catalog.id,
            headline_counts(entry.catalog),
            f"{top.with_checks} of {top.requirements}",
            *(str(top.by_automation[a]) for a in _AUTOMATION),
            f"{whole.with_checks} of {whole.requirements}",
            f"{len(whole.checks_used)} of {len(registered)}",
        )
    out.print(table)
