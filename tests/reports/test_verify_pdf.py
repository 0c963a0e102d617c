"""`verify_file` on packet PDFs changed in ways the tamper suite does not reach: each test names the verdict and
the exact problems a user sees. Changed PDFs are real incremental updates or re-signatures made with pyHanko."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers.pdf_signer import PdfSignatureMetadata, PdfSigner
from pypdf import PdfReader

from reports.pades import sign_pdf
from reports.signing import load_signer
from reports.verify import PacketVerification, verify_file
from reports.verify_pdf import ChunkReader
from tests.reports.conftest import Built
from tests.reports.pdfedit import flat, flate, set_tree, unsigned

Edit = Callable[[IncrementalPdfFileWriter], None]


def _write(built: Built, path: Path, edit: Edit) -> Path:
    writer = IncrementalPdfFileWriter(io.BytesIO(built.result.pdf_path.read_bytes()))
    edit(writer)
    with path.open("wb") as out:
        writer.write(out)
    return path


def _specs(writer: IncrementalPdfFileWriter) -> dict[str, generic.IndirectObject]:
    names = writer.root["/Names"]["/EmbeddedFiles"]["/Names"]
    return {str(names[i]): names.raw_get(i + 1) for i in range(0, len(names), 2)}


def _replace(name: str, stream: generic.StreamObject) -> Edit:
    """Point attachment `name` at a new stream, in a later revision (the signature then no longer covers it)."""

    def edit(writer: IncrementalPdfFileWriter) -> None:
        spec_ref = _specs(writer)[name]
        spec = spec_ref.get_object()
        ref = writer.add_object(stream)
        spec["/EF"] = generic.DictionaryObject({generic.NameObject("/F"): ref, generic.NameObject("/UF"): ref})
        writer.mark_update(spec_ref)

    return edit


def _attachment(built: Built, name: str) -> bytes:
    return PdfReader(built.result.pdf_path).attachments[name][0]


def _coverage(built: Built, path: Path) -> str:
    original, size = built.result.pdf_path.stat().st_size, path.stat().st_size
    return (
        f"signature does not cover the whole file: it covers {original:,} of {size:,} bytes (ENTIRE_REVISION); "
        "something was added after signing"
    )


def _verify(built: Built, path: Path) -> PacketVerification:
    return verify_file(path, trust=built.roots)


def test_the_result_names_signer_times_and_files(built: Built) -> None:
    result = _verify(built, built.result.pdf_path)
    assert result.ok and result.problems == () and result.warnings == ()
    assert result.signer == built.signer.identity
    assert result.signed_at is not None and result.timestamp is not None
    assert abs((result.timestamp - result.signed_at).total_seconds()) < 60
    assert result.files_checked == ("manifest.json", "evidence.ndjson", "findings.csv")


def test_an_unsigned_packet(built: Built, tmp_path: Path) -> None:
    path = tmp_path / "unsigned.pdf"
    with path.open("wb") as out:
        unsigned(built).write(out)
    result = _verify(built, path)
    assert result.problems == ("no digital signature found; expected the PAdES signature field 'AuditpackSignature'",)
    assert not result.ok and result.evidence_checked == 19  # the attachments were still checked


def test_a_signature_in_another_field(built: Built, tmp_path: Path) -> None:
    path = tmp_path / "other-field.pdf"
    signer = PdfSigner(PdfSignatureMetadata(field_name="Signature1"), signer=built.signer.signer)
    with path.open("wb") as out:
        signer.sign_pdf(unsigned(built), output=out)
    result = _verify(built, path)
    assert (result.intact, result.valid, result.trusted, result.covers_whole_file) == (True, True, True, True)
    assert result.problems == ("signature field(s) 'Signature1' found; expected 'AuditpackSignature'",)
    assert not result.ok and result.evidence_checked == 19


def test_an_intact_signature_with_a_broken_value(built: Built, tmp_path: Path) -> None:
    data = bytearray(built.result.pdf_path.read_bytes())
    with built.result.pdf_path.open("rb") as handle:
        embedded = PdfFileReader(handle).embedded_signatures[0]
        value = embedded.signer_info["signature"].native
    text = bytes(data).lower()
    at = text.index(value.hex().encode()) + 40  # the RSA signature, in the hex string no digest covers
    data[at] = ord("0") if data[at] != ord("0") else ord("1")
    path = tmp_path / "bad-value.pdf"
    path.write_bytes(bytes(data))
    result = _verify(built, path)
    assert (result.intact, result.valid) == (True, False)
    # no trust complaint (pyHanko evaluates trust only for a sound signature); the time-stamp token covers the
    # signature value, so it breaks too
    assert result.problems == (
        "signature is not cryptographically valid for the signer's certificate",
        "the signature's time-stamp token is not intact or not valid",
    )


def test_a_signer_outside_the_trust_roots(built: Built) -> None:
    result = verify_file(built.result.pdf_path, trust=[built.tsa_ca])
    assert (result.intact, result.valid, result.trusted, result.ok) == (True, True, False, False)
    assert result.problems == (
        f"signer {built.signer.identity!r} does not chain to a trusted root (NO_CERTIFICATE_CHAIN_FOUND); "
        "trusted roots: Common Name: Example Corp Test TSA Root, Organization: Example Corp",
    )


def test_an_attachment_swapped_for_one_of_the_same_size(built: Built, tmp_path: Path) -> None:
    findings = _attachment(built, "findings.csv")
    edited = findings.replace(b",fail,", b",pass,", 1)
    assert edited != findings and len(edited) == len(findings)
    path = _write(built, tmp_path / "same-size.pdf", _replace("findings.csv", flate(edited)))
    result = _verify(built, path)
    manifest = json.loads(_attachment(built, "manifest.json"))
    assert result.problems == (
        _coverage(built, path),
        f"findings.csv: sha256 {hashlib.sha256(edited).hexdigest()} ({len(edited):,} bytes) does not match "
        f"manifest.json, which lists {manifest['files']['findings.csv']['sha256']} ({len(findings):,} bytes)",
    )


def test_an_uncompressed_attachment_with_the_signed_content_hashes_right(built: Built, tmp_path: Path) -> None:
    findings = _attachment(built, "findings.csv")
    path = _write(built, tmp_path / "plain.pdf", _replace("findings.csv", generic.StreamObject(stream_data=findings)))
    result = _verify(built, path)
    assert result.problems == (_coverage(built, path),)
    assert len(result.files_checked) == 3 and result.evidence_checked == 19


def test_a_truncated_compressed_attachment(built: Built, tmp_path: Path) -> None:
    stream = flate(_attachment(built, "findings.csv"))
    stream._encoded_data = stream.encoded_data[:-20]  # a damaged stream, as a bad copy leaves it
    path = _write(built, tmp_path / "truncated-stream.pdf", _replace("findings.csv", stream))
    result = _verify(built, path)
    assert result.problems == (
        _coverage(built, path),
        "findings.csv: the embedded file cannot be decoded (the compressed stream is truncated)",
    )
    assert "findings.csv" not in result.files_checked


def test_a_name_tree_with_kids_is_read_whole(built: Built, tmp_path: Path) -> None:
    def split(writer: IncrementalPdfFileWriter) -> None:
        specs = sorted(_specs(writer).items())
        kids = [writer.add_object(flat(dict(part))) for part in (specs[:1], specs[1:])]
        set_tree(writer, generic.DictionaryObject({generic.NameObject("/Kids"): generic.ArrayObject(kids)}))

    path = _write(built, tmp_path / "kids.pdf", split)
    result = _verify(built, path)
    assert result.problems == (_coverage(built, path),)
    assert len(result.files_checked) == 3 and result.evidence_checked == 19


@pytest.mark.parametrize(
    ("keep", "expected"),
    [
        (None, "no embedded manifest.json; found embedded files: none"),
        (
            {"findings.csv", "evidence.ndjson"},
            "no embedded manifest.json; found embedded files: evidence.ndjson, findings.csv",
        ),
    ],
)
def test_no_embedded_manifest(built: Built, tmp_path: Path, keep: set[str] | None, expected: str) -> None:
    def drop(writer: IncrementalPdfFileWriter) -> None:
        if keep is None:
            del writer.root["/Names"]
            writer.update_root()
        else:
            set_tree(writer, flat({n: s for n, s in _specs(writer).items() if n in keep}))

    path = _write(built, tmp_path / "no-manifest.pdf", drop)
    result = _verify(built, path)
    assert result.problems == (_coverage(built, path), expected)


def test_an_attachment_removed_or_added(built: Built, tmp_path: Path) -> None:
    manifest = json.loads(_attachment(built, "manifest.json"))

    def swap(writer: IncrementalPdfFileWriter) -> None:
        specs = _specs(writer)
        specs["notes.txt"] = specs.pop("findings.csv")
        set_tree(writer, flat(specs))

    path = _write(built, tmp_path / "renamed.pdf", swap)
    result = _verify(built, path)
    assert result.problems == (
        _coverage(built, path),
        "embedded file 'notes.txt' is not listed in manifest.json",
        f"findings.csv: listed in manifest.json (sha256 {manifest['files']['findings.csv']['sha256']}) "
        "but not embedded",
    )


def test_an_embedded_manifest_that_does_not_parse(built: Built, tmp_path: Path) -> None:
    path = _write(built, tmp_path / "bad-manifest.pdf", _replace("manifest.json", flate(b'{"format": 1}')))
    result = _verify(built, path)
    assert result.problems == (
        _coverage(built, path),
        'embedded manifest.json is not a valid manifest: no "evidence":[ array found; expected an auditpack manifest',
    )
    assert result.files_checked == () and result.packet_id is None


def test_a_manifest_that_does_not_list_the_payloads(built: Built, tmp_path: Path) -> None:
    manifest = _attachment(built, "manifest.json")
    header = json.loads(manifest)
    entry = json.dumps({"evidence.ndjson": header["files"]["evidence.ndjson"]}, separators=(",", ":"))[1:-1]
    edited = manifest.replace(entry.encode() + b",", b"", 1)
    assert edited != manifest
    path = _write(built, tmp_path / "unlisted-payloads.pdf", _replace("manifest.json", flate(edited)))
    result = _verify(built, path)
    assert result.problems == (
        _coverage(built, path),
        "embedded file 'evidence.ndjson' is not listed in manifest.json",
        "manifest.json does not list evidence.ndjson; expected the evidence payloads",
    )


def _payload_lines(built: Built) -> list[bytes]:
    return _attachment(built, "evidence.ndjson").splitlines(keepends=True)


def _short(line: bytes) -> str:
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()[:16]


@pytest.mark.parametrize("change", ["dropped", "duplicated", "altered", "no final newline"])
def test_payload_lines_dropped_duplicated_altered(built: Built, tmp_path: Path, change: str) -> None:
    lines = _payload_lines(built)
    payload = b"".join(lines)
    missing = (
        "evidence.ndjson: 1 evidence payload(s) listed in manifest.json are missing or altered "
        f"(e.g. {_short(lines[3])}…)"
    )
    if change == "dropped":
        edited, expected = b"".join(lines[:3] + lines[4:]), [missing]
    elif change == "duplicated":  # kept in order, so only uniqueness is broken
        edited = b"".join(lines[:4] + lines[3:])
        expected = ["evidence.ndjson: lines are not sorted by SHA-256 and unique, as the format requires"]
    elif change == "altered":
        other = lines[3].replace(b"}", b',"x":1}', 1)
        edited = b"".join(sorted([*lines[:3], other, *lines[4:]], key=_short))  # still sorted and unique
        expected = [missing, f"evidence.ndjson: 1 line(s) hash to no manifest entry (e.g. {_short(other)}…)"]
    else:
        edited = payload[:-1]
        expected = ["evidence.ndjson: the last line has no newline; expected one canonical JSON document per line"]
    path = _write(built, tmp_path / "payloads.pdf", _replace("evidence.ndjson", flate(edited)))
    result = _verify(built, path)
    manifest = json.loads(_attachment(built, "manifest.json"))["files"]["evidence.ndjson"]
    mismatch = (
        f"evidence.ndjson: sha256 {hashlib.sha256(edited).hexdigest()} ({len(edited):,} bytes) does not match "
        f"manifest.json, which lists {manifest['sha256']} ({manifest['size']:,} bytes)"
    )
    assert result.problems[0] == _coverage(built, path)
    assert sorted(result.problems[1:]) == sorted([mismatch, *expected])
    assert result.evidence_checked == (19 if change == "no final newline" else 0)


def test_a_truncated_pdf_reports_only_that(built: Built, tmp_path: Path) -> None:
    path = tmp_path / "truncated.pdf"
    path.write_bytes(built.result.pdf_path.read_bytes()[:-2000])
    result = _verify(built, path)
    assert result.problems == ("not a readable PDF (EOF marker not found); the file is damaged or truncated",)
    assert (result.kind, result.intact, result.ok) == ("pdf", False, False)


def test_the_signature_object_damaged(built: Built, tmp_path: Path) -> None:
    data = built.result.pdf_path.read_bytes()
    at = data.rindex(b"/ByteRange [")
    path = tmp_path / "byterange.pdf"
    path.write_bytes(data[:at] + b"/ByteRange [x" + data[at + len(b"/ByteRange [x") :])
    result = _verify(built, path)
    assert not result.ok
    assert any(p.startswith("the signature cannot be read (") for p in result.problems), result.problems


def test_an_attachment_in_a_filter_pyhanko_cannot_decode_fails_a_sound_signature(built: Built, tmp_path: Path) -> None:
    # signed as it is, so only the attachment check can fail it: an error there must never pass silently
    writer = unsigned(built)
    spec = _specs(writer)["findings.csv"].get_object()
    stream = spec["/EF"]["/F"].get_object()
    stream["/Filter"] = generic.NameObject("/GlateDecode")
    path = tmp_path / "filter.pdf"
    with path.open("wb") as out:
        sign_pdf(writer, built.signer, out, location="Example Health Ltd")
    result = _verify(built, path)
    assert (result.intact, result.valid, result.trusted, result.covers_whole_file) == (True, True, True, True)
    assert result.problems == (
        "the embedded files cannot be read (NotImplementedError: Stream filter '/GlateDecode' is not supported.)",
    )


def test_chunk_reader_reads_across_chunks_and_hashes_all_it_consumed() -> None:
    pulled: list[bytes] = []

    def chunks() -> Iterator[bytes]:
        for chunk in (b"abc", b"", b"defg", b"h"):
            pulled.append(chunk)
            yield chunk

    reader = ChunkReader(chunks())
    assert reader.read(2) == b"ab"
    assert pulled == [b"abc"]  # only as much as asked for: manifests of a million entries stream
    assert reader.read(3) == b"cde"
    assert reader.read(0) == b""
    assert reader.read() == b"fgh"
    assert reader.read(5) == b"" and reader.read() == b""
    assert reader.digest.hexdigest() == hashlib.sha256(b"abcdefgh").hexdigest()


def test_a_later_signature_does_not_stand_in_for_the_packets(built: Built, tmp_path: Path) -> None:
    # someone signs the packet again in a new revision: it is their signature that covers the file, not ours
    stranger = load_signer(data_dir=tmp_path / "stranger")
    writer = IncrementalPdfFileWriter(io.BytesIO(built.result.pdf_path.read_bytes()))
    path = tmp_path / "countersigned.pdf"
    with path.open("wb") as out:
        PdfSigner(PdfSignatureMetadata(field_name="Signature2"), signer=stranger.signer).sign_pdf(writer, output=out)
    result = _verify(built, path)
    assert result.signer_fingerprint == built.signer.fingerprint
    assert result.problems == (_coverage(built, path),)
