"""Writes the OSCAL documents (catalog, SSP fragment, assessment results, POA&M): into a directory (`auditpack
export oscal`) or, through `reports.oscal.packet`, as packet bundle files."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from frameworks.results import FrameworkStatus
from reports.customer_view import CustomerSection
from reports.errors import PacketInputError
from reports.oscal import (
    ASSESSMENT_RESULTS,
    CATALOG,
    DOCUMENTS,
    POAM,
    SSP,
    Document,
    assessment_results,
    catalog,
    poam,
    ssp,
)
from reports.oscal.context import ExportContext
from reports.oscal.jsonstream import Sink, write_document

BUILDERS: dict[str, Callable[[ExportContext], dict[str, Any]]] = {
    CATALOG.name: catalog.document,
    ASSESSMENT_RESULTS.name: assessment_results.document,
    POAM.name: poam.document,
    SSP.name: ssp.document,
}
BUFFER = 1 << 20


def write(ctx: ExportContext, document: Document, sink: Sink) -> None:
    write_document(BUILDERS[document.name](ctx), sink)


def write_all(ctx: ExportContext, open_sink: Callable[[Document], HashingSink]) -> list[tuple[Document, str, int]]:
    """Every document, in DOCUMENTS order, each into the sink `open_sink` gives (closed by the caller); the catalog
    first, so the others link to it with its hash. Returns (document, sha256, size) of each."""
    written = []
    for document in DOCUMENTS.values():
        sink = open_sink(document)
        write(ctx, document, sink)
        digest, size = sink.finish()
        written.append((document, digest, size))
        if document is CATALOG:
            ctx = replace(ctx, catalog_sha256=digest)
    return written


class HashingSink(Protocol):
    def write(self, data: bytes, /) -> Any: ...

    def finish(self) -> tuple[str, int]:
        """Flush and return (sha256, size) of everything written."""
        ...


@dataclass(frozen=True, slots=True)
class Written:
    document: Document
    path: Path
    sha256: str
    size: int


class _HashingFile:
    """A file sink that hashes and counts what goes through it (buffered: items arrive a few bytes at a time)."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("wb", buffering=BUFFER)
        self._digest = hashlib.sha256()
        self._size = 0

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self._digest.update(data)
        self._size += len(data)

    def finish(self) -> tuple[str, int]:
        self._file.flush()
        return self._digest.hexdigest(), self._size

    def close(self) -> None:
        self._file.close()


def write_directory(ctx: ExportContext, out_dir: Path, *, force: bool = False) -> list[Written]:
    """catalog.json, ssp.json, assessment-results.json and poam.json in `out_dir`, renamed into place only when all
    are complete (an interrupted export leaves no half-written document)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise PacketInputError(f"--out {out_dir} is a file; expected a directory")
    targets = [out_dir / doc.filename for doc in DOCUMENTS.values()]
    existing = [path.name for path in targets if path.exists()]
    if existing and not force:
        raise PacketInputError(
            f"{out_dir} already holds {', '.join(existing)}; choose another --out or pass --force to replace them"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    if not os.access(out_dir, os.W_OK):
        raise PacketInputError(f"--out {out_dir} is not writable")
    parts: dict[str, Path] = {}
    sinks: list[_HashingFile] = []

    def open_sink(document: Document) -> _HashingFile:
        handle, raw = tempfile.mkstemp(prefix=f".{document.filename}.", suffix=".part", dir=out_dir)
        os.close(handle)
        parts[document.name] = Path(raw)
        sinks.append(_HashingFile(Path(raw)))
        return sinks[-1]

    try:
        hashed = write_all(ctx, open_sink)
        for sink in sinks:
            sink.close()
        written = []
        for document, digest, size in hashed:
            target = out_dir / document.filename
            parts[document.name].replace(target)
            written.append(Written(document, target, digest, size))
        return written
    finally:
        for sink in sinks:
            sink.close()
        for part in parts.values():
            part.unlink(missing_ok=True)  # what was renamed into place is no longer there


def newest_fact(status: FrameworkStatus, section: CustomerSection) -> datetime:
    """The newest moment an export rests on, up to its window's end: the runs' seals and the customer evidence
    and exceptions' submissions and reviews. An export's documents carry it as `last-modified`, not the clock."""
    until = status.as_of
    moments = [run.finished_at for run in (*status.runs, *status.period_runs) if run.finished_at]
    for entry in (*section.items, *section.not_relied_on):
        moments.append(entry.item.submitted_at)
        moments.extend(event.at for event in entry.item.events)
    for entry in section.exceptions:
        moments.append(entry.exception.requested_at)
        moments.extend(event.at for event in entry.exception.events)
    moments = [moment for moment in moments if moment <= until]
    return max(moments, default=until)
