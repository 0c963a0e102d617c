"""A packet's OSCAL documents: in its bundle, listed in the signed manifest, the same bytes when the same packet
is written again, checked by `auditpack verify`, and valid OSCAL by compliance-trestle."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader

from evidence.db import make_engine
from evidence.store import EvidenceStore
from reports import forked
from reports.customer_export import CustomerFiles
from reports.customer_view import CustomerSection, PacketWindow
from reports.oscal import DOCUMENTS, NS
from reports.oscal import packet as oscal_packet
from reports.streams import ExportWriter
from tests.reports.conftest import GENERATED_AT, Built
from tests.reports.test_tamper import _rezip, verify  # noqa: F401 - the `verify` fixture


def _bundle(built: Built) -> dict[str, bytes]:
    assert built.result.bundle_path is not None
    with zipfile.ZipFile(built.result.bundle_path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def test_the_bundle_carries_the_documents_its_signed_manifest_lists(built: Built) -> None:
    files = _bundle(built)
    manifest = json.loads(files["manifest.json"])
    listed = manifest["oscal"]["documents"]
    assert list(listed) == list(DOCUMENTS)
    for name, entry in listed.items():
        assert entry["file"] == f"oscal/{DOCUMENTS[name].filename}"
        assert manifest["bundle_files"][entry["file"]] == {"sha256": entry["sha256"], "size": entry["size"]}
        document = json.loads(files[entry["file"]])[DOCUMENTS[name].root]
        assert {"name": "packet-id", "ns": NS, "value": "PKT-2026-11-20-0001"} in document["metadata"]["props"]
        assert document["metadata"]["last-modified"] == "2026-11-20T03:30:00Z"  # the packet's, not the clock's
    # The same entry is in the manifest the PDF signature covers; the PDF itself does not embed the documents.
    reader = PdfReader(built.result.pdf_path)
    assert json.loads(reader.attachments["manifest.json"][0])["oscal"] == manifest["oscal"]
    assert not [name for name in reader.attachments if "oscal" in name]
    # Payloads point at the bundle's evidence file; the SSP's baseline is the catalog beside it, hash and all.
    results = json.loads(files["oscal/assessment-results.json"])["assessment-results"]
    catalog = results["back-matter"]["resources"][0]
    assert catalog["rlinks"][0]["href"] == "catalog.json"
    assert catalog["rlinks"][0]["hashes"][0]["value"] == listed["catalog"]["sha256"]
    assert json.loads(files["oscal/ssp.json"])["system-security-plan"]["import-profile"]["href"] == "catalog.json"


@pytest.mark.parametrize("share", [True, False], ids=["risks-shared", "risks-each"])
@pytest.mark.parametrize("fork", [True, False], ids=["poam-forked", "in-process"])
def test_the_same_packet_gives_byte_identical_documents(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fork: bool, share: bool
) -> None:
    # the POA&M is written in a forked child beside the other documents, or in process where a stage cannot fork
    # (a packet built on a job thread); the assessment results read the risks the POA&M's writer kept, or work
    # them out themselves: the same bytes every way
    monkeypatch.setattr(forked, "can_fork", lambda engine: fork)
    data = built.scenario
    engine = make_engine(f"sqlite:///{built.directory / 'store.db'}")

    pids = tmp_path / "pids"
    pids.mkdir()

    def open_writer(doc):  # type: ignore[no-untyped-def]
        (pids / doc.name).write_text(str(os.getpid()))
        return ExportWriter(
            tmp_path,
            name=doc.filename,
            bundle_name=doc.bundle_name,
            media_type="application/json",
            description=doc.title,
            modified=GENERATED_AT,
            bundle=True,
            keep_raw=True,
            embed=False,
        )

    customer = CustomerFiles(CustomerSection(PacketWindow(until=data.status.as_of)), files=(), by_item={})
    again = oscal_packet.write_for_packet(
        store=EvidenceStore(engine),
        status=data.status,
        gaps=data.gaps,
        customer=customer,
        packet_id="PKT-2026-11-20-0001",
        generated_at=GENERATED_AT,
        org_name="Example Health Ltd",
        period=None,
        accounts=["111111111111", "222222222222"],
        open_writer=open_writer,
        work_dir=tmp_path if share else None,
    )
    engine.dispose()
    files = _bundle(built)
    risks = json.loads(files["oscal/assessment-results.json"])["assessment-results"]["results"][0]["risks"]
    assert risks == json.loads(files["oscal/poam.json"])["plan-of-action-and-milestones"]["risks"]
    assert risks and all(risk["related-observations"] for risk in risks)
    assert not (tmp_path / "oscal-risks.ndjson").exists()  # the POA&M's copy is gone once they are written
    assert [file.bundle_name for file in again] == [doc.bundle_name for doc in DOCUMENTS.values()]
    for file in again:
        assert file.raw_path is not None and file.raw_path.read_bytes() == files[file.bundle_name], file.name
    writers = {path.name: int(path.read_text()) for path in pids.iterdir()}
    assert (writers.pop("poam") != os.getpid()) is fork
    assert set(writers.values()) == {os.getpid()}


def test_verify_names_a_changed_document(built: Built, verify, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    poam = _bundle(built)["oscal/poam.json"]
    edited = poam.replace(b'"open"', b'"closed"', 1)
    assert edited != poam
    result = verify(_rezip(built, tmp_path / "poam.zip", replace={"oscal/poam.json": edited}))
    assert result.code == 1
    assert "oscal/poam.json: sha256" in result.stderr and "does not match manifest.json" in result.stderr


def test_the_packet_documents_validate_with_trestle(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from trestle.cli import Trestle

    files = _bundle(built)
    root = tmp_path / "workspace"
    root.mkdir()
    monkeypatch.chdir(root)
    assert Trestle().run(["init"]) == 0
    folders = {"catalog": "catalogs", "ssp": "system-security-plans", "assessment-results": "assessment-results"}
    folders["poam"] = "plan-of-action-and-milestones"
    for name, document in DOCUMENTS.items():
        target = root / folders[name] / "packet"
        target.mkdir(parents=True)
        (target / f"{document.root}.json").write_bytes(files[document.bundle_name])
    shutil.copyfile(root / "catalogs/packet/catalog.json", root / "system-security-plans/packet/catalog.json")
    monkeypatch.chdir(root / "system-security-plans" / "packet")  # the SSP's baseline: catalog.json beside it
    for name, document in DOCUMENTS.items():
        path = f"{folders[name]}/packet/{document.root}.json"
        capsys.readouterr()
        code = Trestle().run(["validate", "-tr", str(root), "-f", path])
        said = capsys.readouterr()
        assert code == 0, f"{path}: {said.out[-2000:]}{said.err[-2000:]}"
        assert f"VALID: Model {root / path} passed" in said.out


def test_the_oscal_entry_must_list_every_document_with_the_hash_the_bundle_holds(built: Built) -> None:
    from reports.verify_oscal import oscal_problems

    header = json.loads(_bundle(built)["manifest.json"])
    assert oscal_problems(header) == []
    assert oscal_problems({k: v for k, v in header.items() if k != "oscal"}) == []  # a packet from before OSCAL
    dropped = json.loads(json.dumps(header))
    del dropped["oscal"]["documents"]["poam"]
    assert oscal_problems(dropped) == [
        "manifest.json: 'oscal' does not list the poam document; expected all of catalog, ssp, assessment-results, poam"
    ]
    swapped = json.loads(json.dumps(header))
    swapped["oscal"]["documents"]["ssp"]["sha256"] = "0" * 64
    (problem,) = oscal_problems(swapped)
    assert problem.startswith("OSCAL ssp: oscal/ssp.json has sha256 ") and f"records {'0' * 64}" in problem
    unlisted = json.loads(json.dumps(header))
    del unlisted["bundle_files"]["oscal/catalog.json"]
    assert oscal_problems(unlisted) == ["OSCAL catalog: oscal/catalog.json is not in manifest.json's bundle_files"]
    assert oscal_problems({"oscal": []}) == [
        "manifest.json: 'oscal' has no 'documents' object; expected each OSCAL document with its hash"
    ]
