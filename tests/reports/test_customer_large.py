"""A large customer document is streamed from the store into the packet and the bundle, never held whole: the
peak Python memory of every stage but the (bounded) rendering stays far below the document's size."""

from __future__ import annotations

import hashlib
import random
import tracemalloc
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from evidence.customer import service
from evidence.customer.policy import Actor, CustomerPolicy, Role
from evidence.db import make_engine
from evidence.store import EvidenceStore
from migrations.schema import upgrade_schema
from reports import packet
from reports.customer_export import attachment_name, bundle_name
from reports.packet import build_packet
from reports.render import RenderedBody
from reports.signing import load_signer
from reports.verify import verify_file
from tests.reports.builders import OBSERVED, scenario

SIZE = 30 * 1024 * 1024
MiB = 1024 * 1024


def _large_pdf(path: Path) -> str:
    """A 30 MB file that sniffs as PDF, written 1 MiB at a time; returns its sha256."""
    digest = hashlib.sha256()
    generator = random.Random(12)
    with path.open("wb") as out:
        written = 0
        while written < SIZE:
            chunk = (b"%PDF-1.7\n" if written == 0 else b"") + generator.randbytes(MiB)
            chunk = chunk[: SIZE - written]
            out.write(chunk)
            digest.update(chunk)
            written += len(chunk)
    return digest.hexdigest()


def _trace_all_but_rendering(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Pause tracing while WeasyPrint lays out the body (bounded, and 10x slower traced) if it does so in this
    process; returns the peaks of the traced stages (the caller adds the last one). The body is rendered in a
    forked child (reports.forked) where it can be: then this process's trace covers the whole build."""
    peaks: list[int] = []
    render = packet.render_pdf

    def untraced(context: dict[str, Any]) -> RenderedBody:
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        try:
            return render(context)
        finally:
            tracemalloc.start()

    monkeypatch.setattr(packet, "render_pdf", untraced)
    return peaks


def test_a_30_mb_document_goes_into_the_packet_with_flat_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade_schema(engine)
    store = EvidenceStore(engine)
    data = scenario(store)
    policy = CustomerPolicy(known_controls=frozenset({"pci-dss:12.1.1"}), max_bytes=64 * MiB)
    source = tmp_path / "pen-test-report.pdf"
    sha256 = _large_pdf(source)
    with source.open("rb") as stream:
        item = service.submit_document(
            engine,
            policy=policy,
            actor=Actor("alice", Role.OFFICER),
            stream=stream,
            title="Penetration test report 2026",
            controls=["pci-dss:12.1.1"],
            owner="Security",
            filename=source.name,
            now=OBSERVED - timedelta(days=10),
        )
    service.approve(engine, item_id=item.id, actor=Actor("bob", Role.OFFICER), now=OBSERVED - timedelta(days=9))
    signer = load_signer(data_dir=tmp_path / "data")

    peaks = _trace_all_but_rendering(monkeypatch)
    tracemalloc.start()
    try:
        build_packet(
            store=store,
            status=data.status,
            findings=data.findings,
            gaps=data.gaps,
            signer=signer,
            out_pdf=tmp_path / "large.pdf",
            out_bundle=tmp_path / "large.zip",
            packet_id="PKT-LARGE",
            org_name="Example",
            generated_by="tests",
            customer=service.customer_evidence(engine, as_of=data.status.as_of),
        )
        peaks.append(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()
    # Export, embedding, signing and the bundle: the document passes through in 1 MiB chunks (up to ~6 in flight
    # while compressing), so no stage comes near its size (measured: 8 and 2.5 MiB; 7.8 MiB over the whole build
    # with the body rendered in a child). One peak when the body was rendered in a child, two when here.
    assert len(peaks) in (1, 2) and max(peaks) < 12 * MiB, [f"{peak / MiB:.1f} MiB" for peak in peaks]

    pdf = tmp_path / "large.pdf"
    assert pdf.stat().st_size > SIZE
    with zipfile.ZipFile(tmp_path / "large.zip") as zf, zf.open(bundle_name(item)) as member:
        digest = hashlib.sha256()
        while chunk := member.read(MiB):
            digest.update(chunk)
    assert digest.hexdigest() == sha256
    result = verify_file(pdf, trust=[signer.trust_root] if signer.trust_root else [])
    assert result.ok, result.problems
    assert attachment_name(item) in result.files_checked
    assert verify_file(tmp_path / "large.zip", trust=[signer.trust_root] if signer.trust_root else []).ok
