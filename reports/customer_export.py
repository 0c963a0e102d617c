"""Customer evidence into a packet: the content of every relied-on item as an attachment (and bundle file), and
the manifest keys that put every field the body shows under the signatures.

Content is streamed from the store chunk by chunk (`iter_content`, 1 MiB at a time) into an `ExportWriter`,
which hashes, compresses and keeps the plain copy for the bundle on disk: a document of any size is never held
whole in memory. `iter_content` checks the stored hash at the end and the written file is compared with the item
again, so altered stored content stops the build instead of being signed.

Attachment names are flat (`customer-evidence-<id>-<name>`): a '/' in an embedded file name is a path to
`pdfdetach -saveall` and most PDF readers. In the bundle the same file is `customer-evidence/<id>-<name>`.
Only [A-Za-z0-9._-] survive in names, and the item id keeps them unique.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from core.canonical import rfc3339
from evidence.customer.service import iter_content
from evidence.customer.types import CustomerEvidence, CustomerItem, ItemKind
from frameworks.results import FrameworkStatus
from reports.customer_view import (
    FLAG_TEXT,
    CustomerSection,
    ExceptionEntry,
    ItemEntry,
    NotReliedOn,
    PacketWindow,
    select,
)
from reports.errors import PacketBuildError
from reports.streams import ExportedFile, ExportWriter

ATTACHMENT_PREFIX = "customer-evidence-"
BUNDLE_DIR = "customer-evidence/"
STATEMENT_LIMIT = 64 * 1024  # bytes of an attestation printed in the body and manifest (the file has it all)
NAME_LIMIT = 80
EXTENSIONS = {
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/json": ".json",
    "text/csv": ".csv",
    "text/markdown": ".md",
    "text/plain": ".txt",
}
# Other extensions a name may keep for a sniffed media type (anything else gets the type's own extension).
ALIASES = {
    "image/jpeg": {"jpeg"},
    "text/plain": {"text", "log"},
    "text/markdown": {"markdown", "txt"},
    "text/csv": {"txt"},
    "application/json": {"txt"},
}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

WriterFactory = Callable[[tuple[str, str, str], str], ExportWriter]


def _stem(item: CustomerItem) -> str:
    """`<id>-<safe name>.<extension>`: the original name reduced to safe characters; the extension fits the
    sniffed media type (a name is display-only and never decides how a reader opens the file)."""
    name = _UNSAFE.sub("_", item.filename or item.kind.value).strip("._-")
    typed = EXTENSIONS.get(item.media_type, ".bin")[1:]
    base, dot, extension = name.rpartition(".")
    if not dot or not base:
        base, extension = name, typed
    elif extension.lower() != typed and extension.lower() not in ALIASES.get(item.media_type, set()):
        base, extension = name, typed  # "x.pdf" holding text becomes "x.pdf.txt"
    base = base[: NAME_LIMIT - len(extension) - 1].rstrip("._-") or item.kind.value
    return f"{item.id}-{base}.{extension}"


def attachment_name(item: CustomerItem) -> str:
    return ATTACHMENT_PREFIX + _stem(item)


def bundle_name(item: CustomerItem) -> str:
    return BUNDLE_DIR + _stem(item)


@dataclass(frozen=True, slots=True)
class CustomerFiles:
    section: CustomerSection  # with the attestations' statements filled in
    files: tuple[ExportedFile, ...]
    by_item: dict[int, ExportedFile]


def for_packet(
    engine: Engine,
    evidence: CustomerEvidence | None,
    *,
    status: FrameworkStatus,
    period: tuple[datetime, datetime] | None,
    writer: WriterFactory,
) -> CustomerFiles:
    """Select what a packet for `status` over its window shows (see customer_view) and export its content."""
    window = PacketWindow(until=period[1], since=period[0]) if period else PacketWindow(until=status.as_of)
    checks = {verdict.check_id: None for control in status.controls for verdict in control.checks}
    section = select(evidence or CustomerEvidence(), framework=status.framework_id, checks=checks, window=window)
    return export(engine, section, writer)


def export(engine: Engine, section: CustomerSection, writer: WriterFactory) -> CustomerFiles:
    """Stream the content of every relied-on item into its own export file."""
    files: dict[int, ExportedFile] = {}
    entries: list[ItemEntry] = []
    for entry in section.items:
        item = entry.item
        description = f"Customer evidence item {item.id} ({item.kind.value}): {item.title}"
        out = writer((attachment_name(item), bundle_name(item), item.media_type), description)
        head = bytearray()
        for chunk in iter_content(engine, item.content_sha256):
            out.write(chunk)
            if item.kind is ItemKind.ATTESTATION and len(head) < STATEMENT_LIMIT:
                head += chunk[: STATEMENT_LIMIT - len(head)]
        written = out.finish()
        if (written.sha256, written.size) != (item.content_sha256, item.size):
            raise PacketBuildError(
                f"customer evidence item {item.id}: its content hashes to {written.sha256} ({written.size:,} bytes), "
                f"but the item records {item.content_sha256} ({item.size:,} bytes); run `auditpack verify --store`"
            )
        files[item.id] = written
        if item.kind is ItemKind.ATTESTATION:
            statement = bytes(head).decode("utf-8", "replace")
            if item.size > STATEMENT_LIMIT:
                statement += f" … (continued in {written.name})"
            entry = replace(entry, statement=statement)
        entries.append(entry)
    filled = replace(section, items=tuple(entries))
    return CustomerFiles(filled, tuple(files.values()), files)


def _when(moment: datetime | None) -> str | None:
    return rfc3339(moment) if moment is not None else None


def _item(entry: ItemEntry, file: ExportedFile | None) -> dict[str, Any]:
    item = entry.item
    return {
        "id": item.id,
        "kind": item.kind.value,
        "title": item.title,
        "controls": list(entry.controls),
        "owner": item.owner,
        "submitted_by": item.submitted_by,
        "submitted_at": _when(item.submitted_at),
        "approved_by": entry.approved_by,
        "approved_at": _when(entry.approved_at),
        "valid_from": _when(item.valid_from),
        "valid_until": _when(item.valid_until),
        "sha256": item.content_sha256,
        "size": item.size,
        "media_type": item.media_type,
        "filename": item.filename,
        "version": entry.version,
        "supersedes": item.supersedes,
        "superseded_by": item.superseded_by,
        "statement_by": item.statement_by,
        "statement": entry.statement,
        "record_url": item.record_url,
        "file": file.name if file is not None else None,
        "bundle_file": file.bundle_name if file is not None else None,
        "state": entry.state.value if entry.state is not None else None,
        "reason": entry.reason,
        "flags": [flag.value for flag in entry.flags],
    }


def _other(entry: NotReliedOn) -> dict[str, Any]:
    return {
        "id": entry.item.id,
        "kind": entry.item.kind.value,
        "title": entry.item.title,
        "state": entry.state.value if entry.state is not None else None,
        "reason": entry.reason,
    }


def _exception(entry: ExceptionEntry) -> dict[str, Any]:
    exception = entry.exception
    return {
        "id": exception.id,
        "scope": {
            "check_id": exception.check_id,
            "control": str(exception.control) if exception.control is not None else None,
            "resource_ids": list(exception.resource_ids),
            "account_id": exception.account_id,
        },
        "justification": exception.justification,
        "compensating": exception.compensating,
        "requested_by": exception.requested_by,
        "requested_at": _when(exception.requested_at),
        "approved_by": entry.approved_by,
        "approved_at": _when(entry.approved_at),
        "expires_at": _when(exception.expires_at),
        "revoked_by": entry.revoked_by,
        "revoked_at": _when(entry.revoked_at),
        "revoked_reason": entry.revoked_reason,
        "state": entry.state.value if entry.state is not None else None,
        "flags": [flag.value for flag in entry.flags],
    }


def manifest_keys(exported: CustomerFiles) -> dict[str, Any]:
    """`customer_evidence` (relied on; content attached), `customer_evidence_not_relied_on` (listed only) and
    `exceptions`. Consumers deciding what an auditor may download read `customer_evidence[*].id`."""
    section = exported.section
    return {
        "customer_evidence": [_item(entry, exported.by_item.get(entry.item.id)) for entry in section.items],
        "customer_evidence_not_relied_on": [_other(entry) for entry in section.not_relied_on],
        "exceptions": [_exception(entry) for entry in section.exceptions],
    }


def body_context(exported: CustomerFiles) -> dict[str, Any]:
    """What the two body sections (_customer_evidence.html, _exceptions.html) print."""
    section = exported.section
    return {
        "customer": {
            "as_of": section.window.since is None,
            "evidence": section.items,  # not "items": Jinja would find dict.items first
            "not_relied_on": section.not_relied_on,
            "exceptions": section.exceptions,
            "files": {item_id: file.name for item_id, file in exported.by_item.items()},
            "flag_text": {flag.value: text for flag, text in FLAG_TEXT.items()},
        }
    }
