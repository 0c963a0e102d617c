"""Builds a signed audit packet (and optionally its evidence bundle) for one framework status.

Steps, each streaming so memory stays flat however many evidence items there are:
1. with a bundle, start writing the OSCAL documents (bundle-only files, listed in the manifest's `oscal` key) in a
   forked child process (reports.forked), which runs beside steps 2-4;
2. export files into a work directory beside the output: `evidence.ndjson` (distinct canonical payloads, in
   another child), `findings.csv` and the customer evidence files;
3. start rendering the bounded body (HTML -> PDF/A-3b with WeasyPrint) in a child;
4. spool the manifest's evidence entries, compressed as they are written; once the OSCAL documents are done, write
   `manifest.json` (header, those entries spliced in: every evidence item, the other files' hashes);
5. one incremental update adds the export files as PDF/A-3 associated files and the PAdES signature over the
   whole file (B-T when a time-stamping authority is given);
6. the bundle zip, if asked for, its members copied from the deflate data written in 2 and 4 (reports.bundle);
7. temporary files are renamed into place only when complete: a half-written packet never appears.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.timestamps import TimeStamper

from core import heap
from core.canonical import rfc3339
from core.errors import AuditpackError
from evidence.checks.types import Finding
from evidence.customer.types import CustomerEvidence
from evidence.store import EvidenceStore
from frameworks.operation import PeriodOperation
from frameworks.results import FrameworkStatus
from reports import customer_export, operation_export, operation_view, view
from reports.attach import embed_files
from reports.body import PacketFacts, build_context
from reports.bundle import BundleStart, BundleText, file_facts, write_bundle
from reports.changes import PeriodChanges
from reports.errors import PacketBuildError, PacketInputError
from reports.export import write_findings, write_manifest_entries, write_payloads
from reports.forked import Forked
from reports.inventory import collect_inventory
from reports.manifest import FOOTER, header_bytes
from reports.oscal import packet as oscal_packet
from reports.pades import sign_pdf
from reports.render import render_pdf
from reports.signing import PacketSigner
from reports.streams import ExportedFile, ExportWriter, PartWriter, write_parts

PAYLOADS = ("evidence.ndjson", "evidence/evidence.ndjson", "application/x-ndjson")
FINDINGS = ("findings.csv", "findings.csv", "text/csv")
MANIFEST = ("manifest.json", "manifest.json", "application/json")
PAYLOADS_DESCRIPTION = "Canonical evidence payloads: one JSON document per line, sorted by SHA-256"
FINDINGS_DESCRIPTION = "Every check result: one row per check and resource, with its evidence hashes"
MANIFEST_DESCRIPTION = "Every evidence item with its SHA-256, the run digests, the gaps and the other files' hashes"
BODY_NICE = 10  # the body's `os.nice` while longer OSCAL documents are written beside it
BODY_YIELDS_FROM = 500_000  # evidence items: the OSCAL documents then take longer than the body (~9 s of CPU)


@dataclass(frozen=True, slots=True)
class PacketResult:
    """What was written: paths, hashes and sizes of the PDF and the bundle (None when not asked for)."""

    packet_id: str
    pdf_path: Path
    pdf_sha256: str
    pdf_size: int
    bundle_path: Path | None
    bundle_sha256: str | None
    bundle_size: int | None
    pages: int
    signer_fingerprint: str
    signer_identity: str
    self_signed: bool


def _check_target(path: Path, what: str) -> None:
    if not path.parent.is_dir():
        raise PacketInputError(f"{what} {path}: directory {path.parent} does not exist")
    if path.is_dir():
        raise PacketInputError(f"{what} {path} is a directory; expected a file path")
    if not os.access(path.parent, os.W_OK):
        raise PacketInputError(f"{what} {path}: directory {path.parent} is not writable")


def _check_packet_id(packet_id: str) -> None:
    if not packet_id or len(packet_id) > 128 or not packet_id.isprintable():
        raise PacketInputError(f"packet id {packet_id!r}: expected 1 to 128 printable characters")


def _header(
    *,
    facts: PacketFacts,
    status: FrameworkStatus,
    signer: PacketSigner,
    gaps: Sequence[view.GapLike],
    files: Sequence[ExportedFile],
    payload_count: int,
    finding_count: int,
    store_state: Mapping[str, Any] | None,
) -> dict[str, Any]:
    period: dict[str, str] = (
        {"from": rfc3339(facts.period[0]), "to": rfc3339(facts.period[1])}
        if facts.period
        else {"as_of": rfc3339(status.as_of)}
    )
    return {
        "packet_id": facts.packet_id,
        "organisation": facts.org_name,
        "generated_at": rfc3339(facts.generated_at),
        "generated_by": facts.generated_by,
        "framework": {"id": status.framework_id, "name": status.name, "version": status.version},
        "period": period,
        "scope": {"accounts": list(facts.accounts)},
        "signer": {
            "identity": signer.identity,
            "certificate_sha256": signer.fingerprint,
            "self_signed": signer.self_signed,
        },
        "runs": [
            {
                "id": run.id,
                "status": run.status,
                "started_at": rfc3339(run.started_at),
                "finished_at": rfc3339(run.finished_at) if run.finished_at else None,
                "digest": run.digest,
                "canonical_version": run.canonical_version,  # of the digest (core.canonical)
            }
            for run in status.runs
        ],
        "period_runs": [
            {
                "id": run.id,
                "status": run.status,
                "finished_at": rfc3339(run.finished_at) if run.finished_at else None,
                "digest": run.digest,
                "canonical_version": run.canonical_version,
            }
            for run in status.period_runs
        ],
        # Both axes and what they rest on, under the signature like every verdict the PDF shows.
        "controls": [
            {
                "id": c.control_id,
                "status": c.status.value,
                "responsibility": c.overall_responsibility.value,
                "automated": c.automated.value,
                "customer_evidence": {
                    "state": c.evidence.value,
                    "items": list(c.evidence_items),
                    "submitted": list(c.evidence_submitted),
                    "expired": list(c.evidence_expired),
                },
                "exceptions": list(c.exceptions),
            }
            for c in status.controls
        ],
        "counts": {"distinct_payloads": payload_count, "findings": finding_count, "gaps": len(gaps)},
        # The evidence store as the packet saw it (chain head, digest of each run's findings):
        # `auditpack verify --store --against PACKET` proves the store still holds it.
        "store": dict(store_state) if store_state is not None else None,
        "files": {file.name: file.manifest_entry() for file in files},
        "gaps": [
            {
                "run_id": gap.run_id,
                "account_id": gap.account_id,
                "region": gap.region,
                "service": gap.service,
                "operation": gap.operation,
                "kind": gap.kind,
                "resource_id": gap.resource_id,
                "error_code": gap.error_code,
                "message": gap.message,
                "observed_at": rfc3339(gap.observed_at),
            }
            for gap in gaps
        ],
    }


def _partial(directory: Path, name: str, stack: ExitStack) -> Path:
    """A temporary file beside the final one (same file system, so the rename is atomic); removed unless kept."""
    handle, raw = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=directory)
    os.close(handle)
    path = Path(raw)
    stack.callback(lambda: path.unlink(missing_ok=True))
    return path


def build_packet(
    *,
    store: EvidenceStore,
    status: FrameworkStatus,
    findings: Iterable[Finding],
    gaps: Sequence[view.GapLike],
    signer: PacketSigner,
    out_pdf: Path,
    out_bundle: Path | None = None,
    packet_id: str,
    org_name: str,
    generated_by: str,
    period: tuple[datetime, datetime] | None = None,
    accounts: Sequence[str] | None = None,
    timestamper: TimeStamper | None = None,
    now: datetime | None = None,
    limits: view.Limits | None = None,
    owner_tag_keys: Sequence[str] = ("Owner", "owner", "Team"),
    store_state: Mapping[str, Any] | None = None,
    customer: CustomerEvidence | None = None,
    operation: PeriodOperation | None = None,
    changes: PeriodChanges | None = None,
) -> PacketResult:
    """Build, sign and write the packet PDF (and the bundle zip when `out_bundle` is given).

    store_state: what the evidence store looked like (`chain_head`, `findings` digests per run), for the manifest.
    customer: customer evidence items and exceptions with their histories up to the window's end (see
        reports.customer_view for which ones the packet shows); their content is read from `store.engine`.
    operation: every capture of the period evaluated (`frameworks.operation`): the section "Operation over the
        period", its sentence in the executive summary, `operation-history.csv` and the manifest's `operation`.
    changes: what changed in the period (period packets): its section, changes.json and the manifest's `changes`.
    """
    out_pdf = Path(out_pdf)
    _check_target(out_pdf, "packet")
    if out_bundle is not None:
        out_bundle = Path(out_bundle)
        _check_target(out_bundle, "bundle")
    _check_packet_id(packet_id)
    generated_at = (now or datetime.now(UTC)).astimezone(UTC)
    limits = limits or view.Limits()
    run_ids = [run.id for run in status.runs]
    facts = PacketFacts(
        packet_id=packet_id,
        org_name=org_name,
        generated_by=generated_by,
        generated_at=generated_at,
        period=period,
        accounts=tuple(accounts or ()),
        packet_file=out_pdf.name,
        owner_source=", ".join(owner_tag_keys) + " tags",
    )
    for_bundle = out_bundle is not None
    with ExitStack() as stack:
        stack.enter_context(heap.collecting_less())  # millions of short-lived objects; the forked stages inherit it
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=".auditpack-", dir=out_pdf.parent)))

        def writer(spec: tuple[str, str, str], description: str, *, embed: bool = True) -> ExportWriter:
            out = ExportWriter(
                work,
                name=spec[0],
                bundle_name=spec[1],
                media_type=spec[2],
                description=description,
                modified=generated_at,
                bundle=for_bundle,
                embed=embed,
            )
            stack.callback(out.abort)
            return out

        customer_files = customer_export.for_packet(store.engine, customer, status=status, period=period, writer=writer)
        oscal_job: Forked[list[ExportedFile]] | None = None
        if out_bundle is not None:  # the OSCAL documents travel in the bundle only
            # Written in a child process while this one writes the payloads, findings and body (reports.forked).
            write_oscal = partial(
                oscal_packet.write_for_packet,
                store=store,
                status=status,
                gaps=gaps,
                customer=customer_files,
                packet_id=packet_id,
                generated_at=generated_at,
                org_name=org_name,
                period=period,
                accounts=accounts,
                operation=operation,
                work_dir=work,
                open_writer=lambda doc: writer(
                    (f"oscal-{doc.filename}", doc.bundle_name, oscal_packet.MEDIA_TYPE),
                    f"OSCAL {doc.title}",
                    embed=False,
                ),
            )
            oscal_job = _stage("writing the OSCAL documents", lambda: Forked(store.engine, write_oscal))
            stack.callback(oscal_job.cancel)

        def export_payloads() -> tuple[int, ExportedFile]:
            out = writer(PAYLOADS, PAYLOADS_DESCRIPTION)
            count = write_payloads(store, run_ids, out, accounts=accounts)
            return count, out.finish()

        # The payloads in a child too, while this process writes the findings and works out the inventory: the
        # body, which prints their hashes, waits for both (one after the other, they held it back ~10 s, issue 18).
        # Not with an external blob store: its client and prefetching threads do not survive a fork.
        payloads_job = _stage(
            "writing the evidence payloads",
            lambda: Forked(store.engine, export_payloads, in_process=store.blobs.external),
        )
        stack.callback(payloads_job.cancel)
        findings_out = writer(FINDINGS, FINDINGS_DESCRIPTION)
        tally = view.FindingTally(view.families_by_check(status))
        finding_count = write_findings(tally.observe(findings), view.controls_by_check(status), findings_out)
        findings_file = findings_out.finish()
        extra = customer_files.files
        if operation is not None:
            history_file = operation_export.write_history(operation, writer)
            extra = (*extra, history_file)
        if changes is not None:
            extra = (*extra, changes.export(writer))
        inventory = collect_inventory(store, run_ids, accounts=accounts, unowned_limit=limits.unowned)
        payload_count, payloads = _stage("writing the evidence payloads", payloads_job.result)
        if not facts.accounts:
            facts = replace(facts, accounts=inventory.accounts)
        context = build_context(
            facts=facts,
            status=status,
            inventory=inventory,
            gaps=gaps,
            tally=tally,
            signer=signer,
            files=(findings_file, payloads, *extra),
            limits=limits,
        )
        context.update(customer_export.body_context(customer_files))
        if operation is not None:
            context.update(operation_view.body_context(operation))
        if changes is not None:
            context.update(changes.context(limits.changes))
        # The body is laid out in a child while this process writes the manifest (reports.forked). Beside OSCAL
        # documents longer to write than it is to lay out, which the build then waits for last, it yields them the
        # CPU: at a million items it had seconds to spare while they were held back (0.8 s of 36 s); at 100,000 it
        # is the longer one, and yielding cost 0.7 s of 12 (issue 18).
        yields = oscal_job is not None and inventory.evidence_items >= BODY_YIELDS_FROM
        body_job = _stage(
            "rendering the packet",
            lambda: Forked(store.engine, partial(render_pdf, context), nice=BODY_NICE if yields else 0),
        )
        stack.callback(body_job.cancel)
        # The manifest's evidence entries now, while the OSCAL child runs, compressed as they are written; its
        # header (which holds the OSCAL hashes) once that is done: the entries are spliced in after it, in the
        # packet's manifest and in the bundle's, and only hashed there (reports.streams.DeflatedPart).
        entries_out = PartWriter(work / "manifest-entries.json", work / "manifest-entries.deflate")
        stack.callback(entries_out.close)
        write_manifest_entries(store, run_ids, entries_out, accounts=accounts)
        entries = entries_out.finish()
        bundle_start: BundleStart | None = None
        if out_bundle is not None:  # the bundle's export files go in on a thread while the OSCAL child finishes
            bundle_part = _partial(out_bundle.parent, out_bundle.name, stack)
            bundle_start = BundleStart(bundle_part)
            stack.callback(bundle_start.close)
            bundle_start.copy((payloads, findings_file, *extra))
        oscal_files: list[ExportedFile] = (
            _stage("writing the OSCAL documents", oscal_job.result) if oscal_job is not None else []
        )
        if bundle_start is not None:
            bundle_start.copy(oscal_files)
        header = _header(
            facts=facts,
            status=status,
            signer=signer,
            gaps=gaps,
            files=(payloads, findings_file, *extra),
            payload_count=payload_count,
            finding_count=finding_count,
            store_state=store_state,
        )
        header.update(customer_export.manifest_keys(customer_files))
        if operation is not None:
            header.update(operation_export.manifest_keys(operation, history_file))
        if changes is not None:
            header["changes"] = changes.summary()
        if oscal_files:
            header["oscal"] = oscal_packet.manifest_key(oscal_files)
        manifest_out = writer(MANIFEST, MANIFEST_DESCRIPTION)
        # its parts, which the bundle's manifest is made from too (nothing keeps the whole manifest uncompressed)
        manifest_parts = (header_bytes(header), entries, FOOTER)
        write_parts(manifest_out, manifest_parts)
        manifest = manifest_out.finish()
        body = _stage("rendering the packet", body_job.result)

        pdf_part = _partial(out_pdf.parent, out_pdf.name, stack)

        def sign() -> None:
            pdf_writer = IncrementalPdfFileWriter(io.BytesIO(body.pdf))
            embed_files(pdf_writer, (manifest, findings_file, payloads, *extra))
            # read-write: pyHanko then signs in the file itself instead of a BytesIO holding the whole packet
            with pdf_part.open("w+b") as output:
                sign_pdf(pdf_writer, signer, output, location=org_name or "auditpack", timestamper=timestamper)

        _stage("signing the packet", sign)
        pdf_sha256, pdf_size, pdf_crc = file_facts(pdf_part)
        if bundle_start is not None:  # into the bundle on its thread, while its manifest is written and signed
            bundle_start.copy_pdf(pdf_part, pdf_size, pdf_crc, generated_at)

        bundle_sha256 = bundle_size = None
        if out_bundle is not None:
            text = BundleText(
                packet_id=packet_id,
                framework_name=f"{status.name} {status.version}",
                org_name=org_name,
                generated_at=rfc3339(generated_at),
                generated_by=generated_by,
            )
            bundle_sha256, bundle_size = _stage(
                "writing the bundle",
                lambda: write_bundle(
                    bundle_part,
                    work_dir=work,
                    pdf_path=pdf_part,
                    manifest=manifest,
                    manifest_parts=manifest_parts,
                    payloads=payloads,
                    findings=findings_file,
                    extra=(*extra, *oscal_files),
                    signer=signer,
                    text=text,
                    timestamper=timestamper,
                    pdf_digest=(pdf_sha256, pdf_size, pdf_crc),
                    started=bundle_start,
                ),
            )
            bundle_part.replace(out_bundle)
        pdf_part.replace(out_pdf)
    return PacketResult(
        packet_id=packet_id,
        pdf_path=out_pdf,
        pdf_sha256=pdf_sha256,
        pdf_size=pdf_size,
        bundle_path=out_bundle,
        bundle_sha256=bundle_sha256,
        bundle_size=bundle_size,
        pages=body.pages,
        signer_fingerprint=signer.fingerprint,
        signer_identity=signer.identity,
        self_signed=signer.self_signed,
    )


def _stage(what: str, action: Any) -> Any:
    """Run one stage; a library error becomes a PacketBuildError saying which stage failed (ours pass through)."""
    try:
        return action()
    except AuditpackError:
        raise
    except Exception as exc:  # WeasyPrint, pyHanko, zipfile, OS errors: reported with the stage, never swallowed
        raise PacketBuildError(f"{what} failed: {type(exc).__name__}: {exc}") from exc
