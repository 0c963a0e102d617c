"""Tampering with a signed packet or bundle makes `auditpack verify` exit 1 and name what failed."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from tests.reports.conftest import Built


@pytest.fixture
def verify(built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli):  # type: ignore[no-untyped-def]
    """`auditpack verify FILE --trust ...` with a data directory that holds no local CA."""
    monkeypatch.setenv("AUDITPACK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AUDITPACK_DATABASE_URL", f"sqlite:///{tmp_path / 'unused.db'}")

    def run(path: Path, *extra: str):  # type: ignore[no-untyped-def]
        trust = [arg for root in built.roots for arg in ("--trust", str(root))]
        return run_cli("verify", str(path), *trust, *extra)

    return run


def _copy(built: Built, tmp_path: Path, name: str) -> Path:
    source = built.result.pdf_path if name == "packet.pdf" else built.result.bundle_path
    assert source is not None
    target = tmp_path / name
    shutil.copyfile(source, target)
    return target


def _rezip(
    built: Built, target: Path, *, replace: dict[str, bytes] | None = None, drop: set[str] | None = None
) -> Path:
    assert built.result.bundle_path is not None
    with zipfile.ZipFile(built.result.bundle_path) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            if drop and info.filename in drop:
                continue
            out.writestr(info.filename, (replace or {}).get(info.filename, source.read(info.filename)))
    return target


def test_untouched_packet_and_bundle_verify(built: Built, verify, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pdf = verify(_copy(built, tmp_path, "packet.pdf"))
    assert pdf.code == 0, pdf
    assert "packet verified" in pdf.stdout and "PKT-2026-11-20-0001" in pdf.stdout
    bundle = verify(_copy(built, tmp_path, "bundle.zip"))
    assert bundle.code == 0, bundle


def test_a_flipped_byte_in_the_pdf_body(built: Built, verify, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _copy(built, tmp_path, "packet.pdf")
    data = bytearray(path.read_bytes())
    offset = data.index(b"stream\n", 2000) + 20  # inside a page's content stream, within the signed range
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    result = verify(path)
    assert result.code == 1
    assert "signature is not intact" in result.stderr
    assert "intact=False" in result.stderr


def test_an_attachment_swapped_in_a_later_update(built: Built, verify, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "swapped.pdf"
    writer = IncrementalPdfFileWriter(io.BytesIO(built.result.pdf_path.read_bytes()))
    names = writer.root["/Names"]["/EmbeddedFiles"]["/Names"]
    index = [str(names[i]) for i in range(0, len(names), 2)].index("findings.csv") * 2
    spec_ref = names.raw_get(index + 1)
    spec = spec_ref.get_object()
    fake = writer.add_object(generic.StreamObject(stream_data=b"check_id,status\ns3.default_encryption,pass\n"))
    spec["/EF"] = generic.DictionaryObject({generic.NameObject("/F"): fake, generic.NameObject("/UF"): fake})
    writer.mark_update(spec_ref)
    with path.open("wb") as out:
        writer.write(out)
    result = verify(path)
    assert result.code == 1
    assert "signature does not cover the whole file" in result.stderr
    assert "findings.csv: sha256" in result.stderr and "does not match manifest.json" in result.stderr


def test_a_file_changed_in_the_bundle(built: Built, verify, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert built.result.bundle_path is not None
    with zipfile.ZipFile(built.result.bundle_path) as zf:
        findings = zf.read("findings.csv")
    edited = findings.replace(b",fail,", b",pass,", 1)
    assert edited != findings
    result = verify(_rezip(built, tmp_path / "changed.zip", replace={"findings.csv": edited}))
    assert result.code == 1
    assert "findings.csv: sha256" in result.stderr and "does not match manifest.json" in result.stderr


def test_a_file_removed_from_the_bundle(built: Built, verify, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = verify(_rezip(built, tmp_path / "removed.zip", drop={"evidence/evidence.ndjson"}))
    assert result.code == 1
    assert "evidence/evidence.ndjson is listed in manifest.json" in result.stderr and "missing" in result.stderr


def test_the_manifest_edited(built: Built, verify, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert built.result.bundle_path is not None
    with zipfile.ZipFile(built.result.bundle_path) as zf:
        manifest = zf.read("manifest.json")
    edited = manifest.replace(b'"owner":null', b'"owner":"mallory"', 1)
    assert edited != manifest
    result = verify(_rezip(built, tmp_path / "manifest.zip", replace={"manifest.json": edited}))
    assert result.code == 1
    assert "manifest.json.p7s: the signed digest does not match manifest.json" in result.stderr
    assert "describes different evidence than the manifest embedded in packet.pdf" in result.stderr


def test_an_extra_file_and_a_missing_signature(built: Built, verify, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert built.result.bundle_path is not None
    target = _rezip(built, tmp_path / "extra.zip", drop={"manifest.json.p7s"})
    with zipfile.ZipFile(target, "a") as zf:
        zf.writestr("evidence/injected.json", b"{}")
    result = verify(target)
    assert result.code == 1
    assert "manifest.json.p7s is missing from the bundle" in result.stderr
    assert "evidence/injected.json is in the bundle but not listed in manifest.json" in result.stderr


def test_json_output_and_the_local_ca_from_the_data_directory(  # type: ignore[no-untyped-def]
    built: Built, run_cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AUDITPACK_DATA_DIR", str(built.data_dir))
    monkeypatch.setenv("AUDITPACK_DATABASE_URL", f"sqlite:///{tmp_path / 'unused.db'}")
    result = run_cli("verify", str(built.result.pdf_path), "--format", "json")
    assert result.code == 0, result
    import json

    report = json.loads(result.stdout)
    assert report["ok"] and report["trusted"] and report["evidence_checked"] == 19
    assert report["trust_roots"] == [str(built.local_ca)]
    assert any("time-stamping authority" in w for w in report["warnings"])


def test_not_a_packet_is_bad_input(run_cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AUDITPACK_DATA_DIR", str(tmp_path / "data"))
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    result = run_cli("verify", str(text))
    assert result.code == 2 and "expected a packet PDF" in result.stderr
    missing = run_cli("verify", str(tmp_path / "absent.pdf"))
    assert missing.code == 2 and "cannot be read" in missing.stderr
