"""Tampering with a signed packet or bundle makes `auditpack verify` exit 1 and name what failed."""

from __future__ import annotations

import io
import re
import shutil
import warnings
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


def test_not_a_packet_fails_a_missing_file_is_bad_input(
    run_cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AUDITPACK_DATA_DIR", str(tmp_path / "data"))
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    result = run_cli("verify", str(text))  # a file that is not a packet is not what was signed: it fails
    assert result.code == 1 and "the file starts with b'hello'; expected a packet PDF" in result.stderr
    empty = tmp_path / "empty.zip"
    empty.write_bytes(b"")
    result = run_cli("verify", str(empty))
    assert result.code == 1 and "bundle verification FAILED" in result.stderr and "the file is empty" in result.stderr
    missing = run_cli("verify", str(tmp_path / "absent.pdf"))
    assert missing.code == 2 and "absent.pdf: cannot be read (No such file or directory)" in missing.stderr
    directory = run_cli("verify", str(tmp_path))
    assert directory.code == 2 and "cannot be read (Is a directory)" in directory.stderr
    both = run_cli("verify", str(text), "--store")
    assert both.code == 2 and "give either FILE or --store" in both.stderr


def test_verify_help_documents_the_exit_codes(run_cli) -> None:  # type: ignore[no-untyped-def]
    text = " ".join(run_cli("verify", "--help").stdout.split())
    assert "0 intact, valid, trusted and complete" in text
    assert "1 verification failed: the file is not what was signed, whatever the reason" in text
    assert "2 bad usage: no such file" in text


def _members(built: Built) -> list[tuple[str, bytes]]:
    assert built.result.bundle_path is not None
    with zipfile.ZipFile(built.result.bundle_path) as zf:
        return [(info.filename, zf.read(info)) for info in zf.infolist()]


def test_duplicate_members_with_the_tampered_copy_first(built: Built, verify, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # `unzip -n` keeps the first copy of a name, Python's zipfile the last: each would see a different bundle.
    members = dict(_members(built))
    tampered = members["findings.csv"].replace(b",fail,", b",pass,", 1)
    assert tampered != members["findings.csv"]
    target = tmp_path / "duplicate.zip"
    with warnings.catch_warnings(), zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name, as it should
        out.writestr("findings.csv", tampered)
        for name, data in _members(built):
            out.writestr(name, data)
    result = verify(target)
    assert result.code == 1, result
    assert "findings.csv appears 2 times in the bundle; expected each file once" in result.stderr


def test_an_entry_outside_the_manifest(built: Built, verify, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = _rezip(built, tmp_path / "extra.zip")
    with zipfile.ZipFile(target, "a") as zf:
        zf.writestr("evidence/override.ndjson", b'{"mfa": true}\n')
    result = verify(target)
    assert result.code == 1, result
    assert "evidence/override.ndjson is in the bundle but not listed in manifest.json" in result.stderr


def test_a_directory_entry(built: Built, verify, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = _rezip(built, tmp_path / "directory.zip")
    with zipfile.ZipFile(target, "a") as zf:
        zf.mkdir("evidence")
    result = verify(target)
    assert result.code == 1, result
    assert "evidence/ is a directory entry in the bundle; expected only the files listed in manifest.json" in (
        result.stderr
    )


def _raw_zip(built: Built, target: Path, *, junk: bytes, after: str | None) -> Path:
    """The bundle's members rewritten with `junk` written straight into the zip after member `after` (None: after
    the last one, before the central directory); every offset stays consistent, as a careful forger would make it."""
    members = list(_members(built))
    last = members[-1][0]
    with target.open("wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in members:
            out.writestr(name, data)
            if name == after or (after is None and name == last):
                raw.write(junk)
                out.start_dir = raw.tell()  # zipfile writes the next entry (or the directory) here, not over the junk
    return target


def _stray_entry() -> bytes:
    """A complete local entry for a tampered findings.csv that no central directory lists: what a streaming
    reader (which never looks at the directory) extracts when it comes first."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("findings.csv", b"check_id,status\ns3.default_encryption,pass\n")
        directory = zf.start_dir
    return buffer.getvalue()[:directory]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("after the end record", "12 byte(s) follow the zip's end record; expected the file to end with it"),
        ("before the first entry", "the file starts with b'UNSIG'; expected a packet PDF ('%PDF-') or an evidence"),
        ("a stray entry first", f"{len(_stray_entry())} byte(s) precede the first zip entry; expected it at byte 0"),
        ("between entries", "12 byte(s) between zip entries 'packet.pdf' and 'manifest.json' belong to no entry"),
        ("before the central directory", "12 byte(s) between zip entry '{last}' and the central directory"),
    ],
)
def test_data_outside_every_zip_entry(built: Built, verify, tmp_path: Path, where: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    junk = b"UNSIGNED-DAT"
    target = tmp_path / "junk.zip"
    original = _copy(built, tmp_path, "bundle.zip").read_bytes()
    if where == "after the end record":
        target.write_bytes(original + junk)
    elif where == "before the first entry":
        target.write_bytes(junk + original)
    elif where == "a stray entry first":  # zipfile shifts every offset to cope, as it does for self-extractors
        target.write_bytes(_stray_entry() + original)
    else:
        _raw_zip(built, target, junk=junk, after="packet.pdf" if where == "between entries" else None)
    result = verify(target)
    assert result.code == 1, result
    assert expected.format(last=list(_members(built))[-1][0]) in result.stderr


def test_a_zip_comment(built: Built, verify, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = _copy(built, tmp_path, "bundle.zip")
    with zipfile.ZipFile(target, "a") as zf:
        zf.comment = b"approved by the auditor"
    result = verify(target)
    assert result.code == 1, result
    assert "the zip carries a 23-byte comment; auditpack writes none and no signature covers it" in result.stderr


def test_a_truncated_pdf(built: Built, verify, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "truncated.pdf"
    path.write_bytes(built.result.pdf_path.read_bytes()[:-2000])
    result = verify(path)
    assert result.code == 1, result
    assert "packet verification FAILED" in result.stderr
    assert "not a readable PDF (EOF marker not found); the file is damaged or truncated" in result.stderr


def test_a_truncated_zip(built: Built, verify, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "truncated.zip"
    path.write_bytes(_copy(built, tmp_path, "bundle.zip").read_bytes()[:-2000])
    result = verify(path)
    assert result.code == 1, result
    assert "bundle verification FAILED" in result.stderr
    assert "not a readable zip (File is not a zip file); the file is damaged or truncated" in result.stderr


def test_a_flipped_byte_in_the_pdf_trailer(built: Built, verify, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _copy(built, tmp_path, "packet.pdf")
    data = bytearray(path.read_bytes())
    key = data.rindex(b"/Size")  # in the last cross-reference stream's dictionary, which pyHanko reads first
    data[key] ^= 0x01  # '/' becomes '.': not a PDF name
    path.write_bytes(bytes(data))
    result = verify(path)
    assert result.code == 1, result
    message = r"not a readable PDF \(Failed to read dictionary key at byte (0x[0-9a-f]+); expected PDF name\)"
    found = re.search(message, result.stderr)
    assert found and abs(int(found[1], 16) - key) <= 2, result.stderr  # pyHanko names where it stopped reading
    assert "0x0x" not in result.stderr


def test_a_damaged_member_inside_the_bundle(built: Built, verify, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _copy(built, tmp_path, "bundle.zip")
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("packet.pdf")  # stored: a flipped byte reaches the file's content unchanged
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data = bytearray(path.read_bytes())
    data[start + 5000] ^= 0x01
    path.write_bytes(bytes(data))
    result = verify(path)
    assert result.code == 1, result
    assert "packet.pdf: cannot be read from the zip (Bad CRC-32 for file 'packet.pdf')" in result.stderr


def test_an_entry_name_that_looks_like_console_markup(built: Built, verify, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # names come from the attacker's zip; printed as Rich markup, '[/bold]' crashed the report
    target = _rezip(built, tmp_path / "markup.zip")
    with zipfile.ZipFile(target, "a") as zf:
        zf.writestr("[/bold]notes.txt", b"")
    result = verify(target)
    assert result.code == 1, result
    assert "[/bold]notes.txt is in the bundle but not listed in manifest.json" in result.stderr
