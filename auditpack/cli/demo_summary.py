"""What `auditpack demo` prints when it is done: the estate, the run, controls per framework, gaps, the files,
what the simulation does differently from AWS, and the commands to try next (table or JSON)."""

from __future__ import annotations

import shlex
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from rich.table import Table

from auditpack.cli.output import err, out
from auditpack.demo.build import BuiltEstate
from auditpack.demo.collect import DemoPaths
from auditpack.demo.packets import PacketOutcome, Verified
from auditpack.demo.simulated import NOTES
from auditpack.demo.spec import EstateSpec
from evidence.models import Gap, Run

# Overall statuses (FrameworkStatus.by_status keys) in the order a reader wants them, with row labels.
ROWS = (
    ("met", "met"),
    ("not_met", "not met (a check fails)"),
    ("excepted", "excepted (risk accepted)"),
    ("evidence_needed", "evidence needed (documents or attestations)"),
    ("incomplete", "incomplete (gap, error, stale)"),
    ("inherited", "inherited (AWS attestation)"),
    ("not_applicable", "not applicable"),
)
NEEDED_WITH_PASSING_CHECKS = "  of which automated checks pass"


@dataclass(frozen=True)
class DemoReport:
    spec: EstateSpec
    paths: DemoPaths
    built: BuiltEstate
    run: Run
    runs: list[Run]
    gaps: list[Gap]
    packets: list[PacketOutcome]
    verified: Verified
    timings: dict[str, float]


SHOWN_NEEDED = 8  # control ids named per framework; the status command lists them all


def _q(value: object) -> str:
    return shlex.quote(str(value))


def next_commands(paths: DemoPaths) -> list[tuple[str, str]]:
    """(command, what it does): every command runs against the demo's store once the export line has run."""
    env = " ".join(f"{name}={_q(value)}" for name, value in paths.environment().items())
    pci = paths.pdf("pci-dss")
    return [
        (f"export {env}", "point auditpack at the demo's database and data directory"),
        ("auditpack status --framework hipaa", "every HIPAA control, its responsibility and status"),
        ("auditpack findings --status fail", "every failing check, resource by resource"),
        (f"auditpack verify {_q(pci)}", "check a packet's signature and attachments (exit 1 if anything changed)"),
        (
            f"auditpack verify {_q(paths.bundle('pci-dss'))}",
            "the same for a bundle (VERIFY.md inside: pdfsig, openssl)",
        ),
        ("auditpack verify --store", "recompute every evidence hash and the run chain"),
        (f"xdg-open {_q(pci)}", "read the packet (open on macOS)"),
        ("auditpack token create --role admin", "a token for the API (printed once)"),
        (
            "AUDITPACK_SCHEDULE= auditpack serve",
            "the API on http://127.0.0.1:8000/docs (no nightly schedule: it would collect from real AWS)",
        ),
    ]


def _gap_groups(gaps: list[Gap]) -> list[tuple[str, list[str]]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for gap in gaps:
        groups[f"{gap.service}:{gap.operation} {gap.error_code}"].append(f"{gap.account_id}/{gap.region}")
    return sorted((what, sorted(where)) for what, where in groups.items())


def report_json(report: DemoReport) -> dict[str, Any]:
    verified = report.verified
    return {
        "organization": report.spec.organization,
        "accounts": [
            {"key": account.key, "name": account.name, "id": report.built.account_ids[account.key]}
            for account in report.spec.accounts
        ],
        "regions": list(report.spec.regions),
        "resources_built": dict(sorted(report.built.resources.items())),
        "run": {
            "id": report.run.id,
            "status": report.run.status,
            "evidence": report.run.evidence_count,
            "gaps": report.run.gap_count,
            "digest": report.run.digest,
        },
        "runs_in_store": len(report.runs),
        "store": {
            "intact": verified.store.intact,
            "runs_checked": verified.store.runs_checked,
            "head_digest": verified.store.head_digest,
        },
        "frameworks": {
            packet.framework_id: {
                "name": packet.name,
                "version": packet.version,
                "packet_id": packet.packet_id,
                "runs": list(packet.run_ids),
                "controls": packet.by_status,
                "evidence_needed_checks_pass": packet.evidence_needed_checks_pass,
                "evidence_needed": list(packet.evidence_needed),
                "gaps": packet.gap_count,
                "stale": packet.stale_count,
                "pdf": str(packet.pdf),
                "pdf_sha256": packet.pdf_sha256,
                "pages": packet.pages,
                "bundle": str(packet.bundle),
                "bundle_sha256": packet.bundle_sha256,
                "pdf_verified": verified.packets[packet.framework_id][0].ok,
                "bundle_verified": verified.packets[packet.framework_id][1].ok,
                "signer": packet.signer,
                "self_signed": packet.self_signed,
            }
            for packet in report.packets
        },
        "gaps": [{"what": what, "where": where} for what, where in _gap_groups(report.gaps)],
        "database": str(report.paths.database),
        "data_dir": str(report.paths.data_dir),
        "local_ca": str(report.paths.ca_certificate),
        "environment": report.paths.environment(),
        "simulation_notes": list(NOTES),
        "next_commands": [command for command, _ in next_commands(report.paths)],
        "seconds": {name: round(value, 1) for name, value in report.timings.items()},
    }


def _controls_table(report: DemoReport) -> Table:
    table = Table(title="Requirements by status (headings roll up and are not counted)", title_justify="left")
    table.add_column("")
    for packet in report.packets:
        table.add_column(packet.framework_id, justify="right", no_wrap=True)
    for status, label in ROWS:
        table.add_row(label, *(str(packet.by_status.get(status, 0)) for packet in report.packets))
        if status == "evidence_needed":
            table.add_row(
                NEEDED_WITH_PASSING_CHECKS, *(str(packet.evidence_needed_checks_pass) for packet in report.packets)
            )
    table.add_row("gaps", *(str(packet.gap_count) for packet in report.packets), end_section=True)
    table.add_row("pages", *(str(packet.pages) for packet in report.packets))
    verdicts = []
    for packet in report.packets:
        pdf, bundle = report.verified.packets[packet.framework_id]
        verdicts.append("[green]yes[/green]" if pdf.ok and bundle.ok else "[red]FAILED[/red]")
    table.add_row("PDF and bundle verified", *verdicts)
    return table


def print_report(report: DemoReport) -> None:
    spec, built, run, paths = report.spec, report.built, report.run, report.paths
    accounts = ", ".join(f"{a.name} {built.account_ids[a.key]}" for a in spec.accounts)
    resources = ", ".join(f"{kind} {count}" for kind, count in built.resources.most_common())
    out.print(f"[bold]{spec.organization}[/bold] in moto: {accounts}; regions {', '.join(spec.regions)}")
    out.print(f"  built {sum(built.resources.values())} resources: {resources}", highlight=False)
    chain = report.verified.store
    state = "[green]intact[/green]" if chain.intact else "[red]BROKEN[/red]"
    out.print(
        f"evidence run {run.id}: {run.status}, {run.evidence_count} evidence items, {run.gap_count} gaps; "
        f"the store holds {len(report.runs)} run(s), chain {state} (head {(chain.head_digest or '')[:16]}…)"
    )
    out.print(_controls_table(report))
    for packet in report.packets:
        out.print(
            f"  {packet.framework_id}: {packet.name} {packet.version}, {packet.pages} pages, packet {packet.packet_id}",
            highlight=False,
        )
        if packet.evidence_needed:
            shown = ", ".join(packet.evidence_needed[:SHOWN_NEEDED])
            more = len(packet.evidence_needed) - SHOWN_NEEDED
            rest = f" and {more} more" if more > 0 else ""
            out.print(
                f"    still need evidence: {shown}{rest} (`auditpack status --framework {packet.framework_id}` "
                "shows what each expects)",
                highlight=False,
                markup=False,
            )
    out.print(f"[yellow]{len(report.gaps)} gap(s)[/yellow]: evidence that could not be read, shown in every packet")
    for what, where in _gap_groups(report.gaps):
        out.print(f"  {what}: {', '.join(where)}", highlight=False)
    _print_files(report)
    _print_problems(report)
    out.print("[bold]What the simulation does differently from AWS[/bold]")
    for note in NOTES:
        out.print(f"  - {note}", highlight=False)
    out.print("[bold]Next[/bold] (copy the export line first)")
    for command, meaning in next_commands(paths):
        out.print(f"  {command}", highlight=False, markup=False)
        out.print(f"      [dim]{meaning}[/dim]", highlight=False)
    seconds = ", ".join(f"{name} {value:.1f} s" for name, value in report.timings.items())
    out.print(f"[dim]{seconds}[/dim]")


def _print_files(report: DemoReport) -> None:
    paths = report.paths
    out.print(f"[bold]Files[/bold] in {paths.out_dir}", highlight=False)
    for packet in report.packets:
        out.print(f"  {packet.pdf.name}, {packet.bundle.name}", highlight=False)
    out.print(f"  {paths.database.name}: the evidence store (SQLite)", highlight=False)
    out.print(
        f"  {paths.ca_certificate.relative_to(paths.out_dir)}: the demo's own local CA. Packets are signed with it, "
        "never with a configured key (they describe a fictitious company): self-signed, for the demo only",
        highlight=False,
    )
    out.print(
        f"  {paths.owners_file.name}: who owns what has no owner tag. Running the demo again adds a run to the chain "
        "and replaces the packets and bundles",
        highlight=False,
    )


def _print_problems(report: DemoReport) -> None:
    verified = report.verified
    for framework, (pdf, bundle) in verified.packets.items():
        for result in (pdf, bundle):
            for problem in result.problems:
                err.print(f"[red]{framework}: {result.path.name}: {problem}[/red]", highlight=False)
    for problem in verified.store.problems:
        err.print(f"[red]store: {problem}[/red]", highlight=False)
