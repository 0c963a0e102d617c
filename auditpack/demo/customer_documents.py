"""The demo's documents as real files: short PDFs rendered by WeasyPrint in this process (no cache on disk), and
CSV exports for records. Plain, dated company documents, so the attachments in a packet look like what an
auditor would be sent.

All PDFs are rendered as one HTML document and split by page with pypdf: WeasyPrint spends most of a small
document's time subsetting its fonts, so one render of fifteen documents takes about a sixth of fifteen renders.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from html import escape

from pypdf import PdfReader, PdfWriter

from auditpack.demo.customer_spec import DocumentSpec, RecordSpec

ORGANIZATION = "Acme Health, Inc."
_STYLE = """
@page { size: A4; margin: 2cm 2.2cm;
  @bottom-left { content: string(title); font: 7.5pt sans-serif; color: #666; }
  @bottom-right { content: "Acme Health, Inc. (fictitious, auditpack demo) - internal"; font: 7.5pt sans-serif;
                  color: #666; } }
section { break-before: page; }
body { font-family: sans-serif; font-size: 10pt; line-height: 1.45; color: #222; }
.org { color: #0b4f6c; font-weight: bold; letter-spacing: 0.05em; margin: 0; }
h1 { font-size: 17pt; color: #0b4f6c; margin: 0.2em 0 0.6em; string-set: title content(); }
h2 { font-size: 11.5pt; color: #0b4f6c; margin: 1.2em 0 0.3em; }
table.meta { border-collapse: collapse; font-size: 8.5pt; margin-bottom: 1.2em; }
table.meta td { border: 1px solid #ccd; padding: 3px 8px; }
table.meta td:first-child { background: #eef3f6; font-weight: bold; }
"""


def _section(number: int, spec: DocumentSpec, effective: datetime, approver: str) -> str:
    meta = (
        ("Owner", spec.owner),
        ("Approved by", approver),
        ("Effective", effective.date().isoformat()),
        ("Classification", "Internal"),
    )
    rows = "".join(f"<tr><td>{escape(key)}</td><td>{escape(value)}</td></tr>" for key, value in meta)
    body = "".join(
        f"<h2>{escape(paragraph[2:])}</h2>" if paragraph.startswith("# ") else f"<p>{escape(paragraph)}</p>"
        for paragraph in spec.body
    )
    return (
        f'<section id="doc-{number}"><p class="org">{ORGANIZATION}</p><h1>{escape(spec.title)}</h1>'
        f'<table class="meta">{rows}</table>{body}</section>'
    )


def document_pdfs(documents: Sequence[tuple[DocumentSpec, datetime]], *, approver: str) -> list[bytes]:
    """Each (document, effective date) as its own PDF naming its approver, in the order given."""
    if not documents:
        return []
    from weasyprint import HTML  # loaded only when the demo renders documents

    sections = "".join(_section(n, spec, effective, approver) for n, (spec, effective) in enumerate(documents))
    html = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><style>{_STYLE}</style></head>'
        f"<body>{sections}</body></html>"
    )
    rendered = HTML(string=html).render()
    starts = [index for index, page in enumerate(rendered.pages) if any(a.startswith("doc-") for a in page.anchors)]
    reader = PdfReader(io.BytesIO(rendered.write_pdf()))
    ends = [*starts[1:], len(reader.pages)]
    pdfs = []
    for (spec, _), start, end in zip(documents, starts, ends, strict=True):
        writer = PdfWriter()
        for page in reader.pages[start:end]:
            writer.add_page(page)
        writer.add_metadata({"/Title": spec.title, "/Author": ORGANIZATION})
        buffer = io.BytesIO()
        writer.write(buffer)
        pdfs.append(buffer.getvalue())
    return pdfs


def record_csv(spec: RecordSpec) -> bytes:
    """The record's export as CSV (RFC 4180 line endings, UTF-8), as the source system would produce it."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(spec.rows)
    return buffer.getvalue().encode("utf-8")
