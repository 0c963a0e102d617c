"""Verification of a packet PDF: its PAdES signature, and its embedded files against the embedded manifest."""

from __future__ import annotations

import hashlib
import itertools
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from reports.certs import fingerprint, from_asn1, identity
from reports.errors import describe
from reports.manifest import ManifestFormatError, read_manifest
from reports.pades import SIGNATURE_FIELD, run_coroutine
from reports.verify_customer import customer_problems

MANIFEST = "manifest.json"
PAYLOADS = "evidence.ndjson"
CHUNK = 1 << 20


@dataclass
class PdfCheck:
    """Mutable findings while checking one PDF (frozen into a PacketVerification by `reports.verify`)."""

    intact: bool = False
    valid: bool = False
    trusted: bool = False
    covers_whole_file: bool = False
    signer: str | None = None
    signer_fingerprint: str | None = None
    signed_at: datetime | None = None
    timestamp: datetime | None = None
    packet_id: str | None = None
    files_checked: list[str] = field(default_factory=list)
    evidence_checked: int = 0
    manifest_sha256: str | None = None
    # The manifest's header (runs, chain head, scope): `verify --store --against` holds the store to it.
    manifest_header: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def validation_context(roots: list[asn1_x509.Certificate]) -> ValidationContext:
    return ValidationContext(trust_roots=roots, allow_fetching=False)


def _signature(reader: PdfFileReader, check: PdfCheck, roots: list[asn1_x509.Certificate], size: int) -> None:
    signatures = reader.embedded_signatures
    if not signatures:
        check.problems.append(f"no digital signature found; expected the PAdES signature field {SIGNATURE_FIELD!r}")
        return
    named = [s for s in signatures if s.field_name == SIGNATURE_FIELD]
    if not named:
        found = ", ".join(repr(s.field_name) for s in signatures)
        check.problems.append(f"signature field(s) {found} found; expected {SIGNATURE_FIELD!r}")
    embedded = named[-1] if named else signatures[-1]
    status = run_coroutine(lambda: async_validate_pdf_signature(embedded, validation_context(roots)))
    cert = status.signing_cert
    check.signer = identity(from_asn1(cert))
    check.signer_fingerprint = fingerprint(cert)
    check.signed_at = status.signer_reported_dt
    check.intact, check.valid, check.trusted = status.intact, status.valid, status.trusted
    check.covers_whole_file = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    if not status.intact:
        check.problems.append(
            "signature is not intact: the signed bytes' digest does not match the digest in the signature "
            "(the file was changed after signing)"
        )
    elif not status.valid:
        check.problems.append("signature is not cryptographically valid for the signer's certificate")
    if status.intact and status.valid and not status.trusted:  # pyHanko only evaluates trust for a sound signature
        if not roots:
            check.problems.append("signer is not trusted: no trust root was given (use --trust CA.pem)")
        else:
            why = status.trust_problem_indic.name if status.trust_problem_indic else "no path to a trusted root"
            check.problems.append(
                f"signer {check.signer!r} does not chain to a trusted root ({why}); "
                f"trusted roots: {', '.join(r.subject.human_friendly for r in roots)}"
            )
    if not check.covers_whole_file:
        signed_end = embedded.byte_range[2] + embedded.byte_range[3] if embedded.byte_range else 0
        check.problems.append(
            f"signature does not cover the whole file: it covers {signed_end:,} of {size:,} bytes "
            f"({status.coverage.name if status.coverage else 'unknown coverage'}); something was added after signing"
        )
    if status.timestamp_validity is not None:
        stamp = status.timestamp_validity
        check.timestamp = stamp.timestamp
        if not (stamp.intact and stamp.valid):
            check.problems.append("the signature's time-stamp token is not intact or not valid")
        elif not stamp.trusted:
            check.warnings.append("the time-stamping authority does not chain to a trusted root given")


def _embedded_files(reader: PdfFileReader) -> dict[str, generic.StreamObject]:
    try:
        tree = reader.root["/Names"]["/EmbeddedFiles"]
    except KeyError:
        return {}
    found: dict[str, generic.StreamObject] = {}

    def walk(node: Any) -> None:
        node = node.get_object()
        names = node.get("/Names")
        if names is not None:
            for index in range(0, len(names), 2):
                spec = names[index + 1].get_object()
                ef = spec.get("/EF")
                stream = ef.get("/UF", ef.get("/F")) if ef is not None else None
                if stream is not None:
                    found[str(names[index])] = stream.get_object()
        for kid in node.get("/Kids", ()):
            walk(kid)

    walk(tree)
    return found


def iter_decoded(stream: generic.StreamObject) -> Iterator[bytes]:
    """A stream's decoded content in chunks: Flate streams are inflated piece by piece (payload files can be large)."""
    filters = stream.get("/Filter")
    names = [str(f) for f in filters] if isinstance(filters, list) else [str(filters)] if filters else []
    if names != ["/FlateDecode"] or "/DecodeParms" in stream:
        yield stream.data
        return
    raw = memoryview(stream.encoded_data)
    inflater = zlib.decompressobj()
    for start in range(0, len(raw), CHUNK):
        yield inflater.decompress(raw[start : start + CHUNK])
    yield inflater.flush()
    if not inflater.eof:
        raise zlib.error("the compressed stream is truncated")


class ChunkReader:
    """A read()-able view over an iterator of byte chunks (for the streaming manifest parser)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self.digest.update(chunk)
            self._buffer += chunk
        if size < 0:
            out, self._buffer = self._buffer, b""
        else:
            out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out


def file_digest(chunks: Iterator[bytes]) -> tuple[str, int]:
    """A file's sha256 and size from its chunks, holding one chunk at a time (findings.csv can be 300 MB)."""
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def payload_digests(chunks: Iterator[bytes], check: PdfCheck, where: str) -> tuple[list[bytes], str, int]:
    """Hash every line of a payload file; returns (line digests, file sha256, size)."""
    digest = hashlib.sha256()
    size = 0
    lines: list[bytes] = []
    pending = b""
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
        parts = (pending + chunk).split(b"\n")
        pending = parts.pop()
        lines.extend(hashlib.sha256(part).digest() for part in parts)
    if pending:
        check.problems.append(f"{where}: the last line has no newline; expected one canonical JSON document per line")
        lines.append(hashlib.sha256(pending).digest())
    return lines, digest.hexdigest(), size


def compare_payloads(lines: list[bytes], manifest_hashes: list[bytes], check: PdfCheck, where: str) -> None:
    """Every manifest entry has its payload line and every line belongs to an entry; lines sorted and unique."""
    if any(a >= b for a, b in itertools.pairwise(lines)):
        check.problems.append(f"{where}: lines are not sorted by SHA-256 and unique, as the format requires")
    expected = sorted(set(manifest_hashes))
    if lines == expected:
        check.evidence_checked = len(manifest_hashes)
        return
    have, want = set(lines), set(expected)
    missing, extra = sorted(want - have), sorted(have - want)
    if missing:
        sample = ", ".join(h.hex()[:16] for h in missing[:3])
        check.problems.append(
            f"{where}: {len(missing)} evidence payload(s) listed in manifest.json are missing or altered "
            f"(e.g. {sample}…)"
        )
    if extra:
        sample = ", ".join(h.hex()[:16] for h in extra[:3])
        check.problems.append(f"{where}: {len(extra)} line(s) hash to no manifest entry (e.g. {sample}…)")


def _attachments(reader: PdfFileReader, check: PdfCheck) -> None:
    files = _embedded_files(reader)
    if MANIFEST not in files:
        found = ", ".join(sorted(files)) or "none"
        check.problems.append(f"no embedded {MANIFEST}; found embedded files: {found}")
        return
    source = ChunkReader(iter_decoded(files[MANIFEST]))
    try:
        header, entries = read_manifest(source)  # type: ignore[arg-type]
        manifest_hashes = [bytes.fromhex(entry["sha256"]) for entry in entries]
    except (ManifestFormatError, KeyError, ValueError, TypeError, zlib.error) as exc:
        check.problems.append(f"embedded {MANIFEST} is not a valid manifest: {exc}")
        return
    source.read()
    check.manifest_sha256 = source.digest.hexdigest()
    check.manifest_header = header
    check.packet_id = header.get("packet_id")
    check.files_checked.append(MANIFEST)
    listed: dict[str, dict[str, Any]] = header.get("files", {})
    for name in sorted(set(files) - set(listed) - {MANIFEST}):
        check.problems.append(f"embedded file {name!r} is not listed in {MANIFEST}")
    for name, entry in sorted(listed.items()):
        if name not in files:
            check.problems.append(f"{name}: listed in {MANIFEST} (sha256 {entry.get('sha256')}) but not embedded")
            continue
        try:
            if name == PAYLOADS:
                lines, sha256, size = payload_digests(iter_decoded(files[name]), check, name)
            else:
                sha256, size = file_digest(iter_decoded(files[name]))
        except (zlib.error, PdfReadError) as exc:
            check.problems.append(f"{name}: the embedded file cannot be decoded ({exc})")
            continue
        if sha256 != entry.get("sha256") or size != entry.get("size"):
            check.problems.append(
                f"{name}: sha256 {sha256} ({size:,} bytes) does not match {MANIFEST}, which lists "
                f"{entry.get('sha256')} ({entry.get('size', 0):,} bytes)"
            )
        check.files_checked.append(name)
        if name == PAYLOADS:
            compare_payloads(lines, manifest_hashes, check, name)
    if PAYLOADS not in listed:
        check.problems.append(f"{MANIFEST} does not list {PAYLOADS}; expected the evidence payloads")
    check.problems.extend(customer_problems(header, listing="files", name_field="file"))


def check_pdf(path: Path, roots: list[asn1_x509.Certificate]) -> PdfCheck:
    """Check one PDF. Any error while parsing it becomes a problem, never an exception or a pass: a file that a
    parser chokes on (truncated, a flipped byte in an xref stream, a mangled filter name) is not what was signed."""
    check = PdfCheck()
    size = path.stat().st_size
    with path.open("rb") as handle:
        try:
            reader = PdfFileReader(handle, strict=False)
        except Exception as exc:  # pyHanko raises PdfReadError, but also KeyError, AssertionError, ...
            check.problems.append(f"not a readable PDF ({describe(exc)}); the file is damaged or truncated")
            return check
        try:
            _signature(reader, check, roots, size)
        except Exception as exc:
            check.problems.append(f"the signature cannot be read ({describe(exc)})")
        try:
            _attachments(reader, check)
        except Exception as exc:
            check.problems.append(f"the embedded files cannot be read ({describe(exc)})")
    return check
