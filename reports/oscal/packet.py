"""The OSCAL documents of a packet: written into its bundle under `oscal/`, listed in its manifest (`oscal`, under
the PDF signature; `bundle_files`, under the bundle's CMS signature). Their UUIDs derive from the packet id and
their `last-modified` is the packet's generation time, so the same packet gives the same bytes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

from evidence.store import EvidenceStore
from frameworks.operation import PeriodOperation
from frameworks.results import FrameworkStatus
from reports.customer_export import CustomerFiles
from reports.forked import Forked
from reports.oscal import ASSESSMENT_RESULTS, CATALOG, DOCUMENTS, NS, OSCAL_VERSION, POAM, SSP, Document
from reports.oscal.context import ExportContext
from reports.oscal.evidence import EvidenceSource
from reports.oscal.export import write
from reports.oscal.findings import read_risks
from reports.oscal.ids import Ids
from reports.streams import ExportedFile, ExportWriter
from reports.view import GapLike

MEDIA_TYPE = "application/json"


def tool_version() -> str:
    try:
        return metadata.version("auditpack")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def write_for_packet(
    *,
    store: EvidenceStore,
    status: FrameworkStatus,
    gaps: Sequence[GapLike],
    customer: CustomerFiles,
    packet_id: str,
    generated_at: datetime,
    org_name: str,
    period: tuple[datetime, datetime] | None,
    accounts: Sequence[str] | None,
    open_writer: Callable[[Document], ExportWriter],
    operation: PeriodOperation | None = None,
    work_dir: Path | None = None,
) -> list[ExportedFile]:
    """Write the four documents through `open_writer` (bundle-only export files); the catalog first. `operation`:
    a period packet's captures, one observation each in the assessment results. `work_dir`: where the POA&M's
    writer leaves its encoded risks for the assessment results (None: each works them out)."""
    run_ids = [run.id for run in status.runs]
    context = ExportContext(
        status=status,
        ids=Ids.for_packet(packet_id),
        org_name=org_name,
        last_modified=generated_at,
        evidence=EvidenceSource(store, run_ids, list(accounts) if accounts else None),
        gaps=gaps,
        customer=customer.section,
        tool_version=tool_version(),
        packet_id=packet_id,
        period=period,
        accounts=tuple(sorted(accounts or ())),
        customer_files={item_id: file.bundle_name for item_id, file in customer.by_item.items()},
        in_bundle=True,
        operation=operation,
    )
    # The catalog first: the others link to it with its hash. Then the POA&M in a forked child (reports.forked)
    # while this process writes the SSP and the assessment results: at a million items the two large documents
    # are 25 and 12 s of CPU, and the packet's other stages finish before this one (issue 18).
    (catalog_file,) = _write(context, (CATALOG,), open_writer)
    context = replace(context, catalog_sha256=catalog_file.sha256)
    context.prepare()  # the lookups both documents share, inherited by the child instead of redone there
    kept = work_dir / "oscal-risks.ndjson" if work_dir is not None else None
    poam_job = Forked(store.engine, partial(_write, context.but(risk_copy=kept), (POAM,), open_writer))
    try:
        if kept is not None:  # the POA&M's risks, read once its child is done (long before the results need them)
            context = context.but(shared_risks=partial(read_risks, kept, poam_job.result))
        ssp_and_results = _write(context, (SSP, ASSESSMENT_RESULTS), open_writer)
        (poam_file,) = poam_job.result()
    finally:
        poam_job.cancel()
        if kept is not None:
            kept.unlink(missing_ok=True)
    return [catalog_file, *ssp_and_results, poam_file]


def _write(
    context: ExportContext, documents: Sequence[Document], open_writer: Callable[[Document], ExportWriter]
) -> list[ExportedFile]:
    files = []
    for document in documents:
        out = open_writer(document)  # an ExportWriter hashes what it is given: the sink `write` needs
        write(context, document, out)
        files.append(out.finish())
    return files


def manifest_key(files: Sequence[ExportedFile]) -> dict[str, Any]:
    """The manifest's `oscal` entry: the version and namespace, and each document's bundle file and hash."""
    by_bundle_name = {file.bundle_name: file for file in files}
    documents = {}
    for document in DOCUMENTS.values():
        file = by_bundle_name[document.bundle_name]
        documents[document.name] = {"file": file.bundle_name, "sha256": file.sha256, "size": file.size}
    return {"oscal_version": OSCAL_VERSION, "namespace": NS, "documents": documents}
