"""Offline verification of a packet PDF or an evidence bundle zip.

`verify_file` never raises for a bad packet: it reports what does not match in `PacketVerification.problems`
(what was found, what was expected), whether the file was altered, truncated, damaged or is no packet at all. It
raises `PacketInputError` only for a path that cannot be read (missing, a directory, no permission).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from pyhanko.sign.validation import async_validate_detached_cms

from reports.bundle_files import CHAIN, MANIFEST, PDF_NAME, README, SIGNATURE
from reports.certs import fingerprint, load_certificates, to_asn1
from reports.errors import PacketInputError, describe
from reports.manifest import ManifestFormatError, bundle_prefix, read_manifest
from reports.pades import run_coroutine
from reports.verify_customer import customer_problems
from reports.verify_oscal import oscal_problems
from reports.verify_pdf import PAYLOADS, PdfCheck, check_pdf, validation_context
from reports.zip_layout import layout_problems

CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class PacketVerification:
    """The result of verifying a packet PDF or a bundle zip (pyHanko's validation-status style).

    path: the file verified.
    kind: "pdf" or "bundle".
    intact: the signed data's digest matches the signature: the PDF's signed byte ranges (and, for a bundle, the
        manifest under its detached CMS signature) are unchanged since signing.
    valid: the signature value is cryptographically valid for the signer's certificate (both signatures, for a
        bundle).
    trusted: the signer's certificate chains to one of the trust roots given (the local CA or --trust).
    covers_whole_file: the PDF signature covers every byte of the PDF (nothing was appended after signing).
    files_checked: names of the files whose hashes were recomputed and compared with the manifest (embedded files
        for a PDF, `bundle/...`-relative names for a bundle).
    evidence_checked: evidence items whose payload hashed to its manifest entry.
    signer: the signer certificate's subject, human-readable (None when there is no signature).
    signer_fingerprint: SHA-256 of the signer certificate (DER), lower-case hex.
    signed_at: the signing time the signer reported (not independently attested).
    timestamp: the RFC 3161 time-stamp's time when the signature has one (PAdES B-T).
    packet_id: the packet id from the embedded manifest.
    problems: every failed check, each saying what was found and what was expected; empty when all hold.
    warnings: observations that do not fail verification (e.g. an untrusted time-stamping authority).
    manifest: the header of the packet's embedded manifest (runs, chain head, scope), None when unreadable; trust
        it only when `ok`.
    """

    path: Path
    kind: str
    intact: bool
    valid: bool
    trusted: bool
    covers_whole_file: bool
    files_checked: tuple[str, ...]
    evidence_checked: int
    signer: str | None
    signer_fingerprint: str | None
    signed_at: datetime | None
    timestamp: datetime | None
    packet_id: str | None
    problems: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    manifest: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """True only when every check holds: intact, valid, trusted, whole file covered, and no problem found."""
        return self.intact and self.valid and self.trusted and self.covers_whole_file and not self.problems


def load_trust_roots(trust: Iterable[Path | x509.Certificate]) -> list[asn1_x509.Certificate]:
    roots: list[asn1_x509.Certificate] = []
    for item in trust:
        certs = [item] if isinstance(item, x509.Certificate) else load_certificates(Path(item), "trust root file")
        roots.extend(to_asn1(cert) for cert in certs)
    return roots


def _kind(path: Path) -> tuple[str, str | None]:
    """'pdf' or 'bundle' from the first bytes; otherwise a guess from the suffix and why the file is not a packet.

    Only a file that cannot be read at all is bad input (exit 2): one that reads but is not a packet or bundle is
    not what was signed, and fails verification like any other damage (exit 1)."""
    try:
        with path.open("rb") as handle:
            magic = handle.read(5)
    except OSError as exc:
        raise PacketInputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if magic.startswith(b"%PDF-"):
        return "pdf", None
    if magic.startswith(b"PK\x03\x04"):
        return "bundle", None
    found = f"starts with {magic!r}" if magic else "is empty"
    kind = "bundle" if path.suffix.lower() == ".zip" else "pdf"
    return kind, f"the file {found}; expected a packet PDF ('%PDF-') or an evidence bundle zip ('PK\\x03\\x04')"


def _result(path: Path, kind: str, check: PdfCheck, **overrides: Any) -> PacketVerification:
    values: dict[str, Any] = {
        "path": path,
        "kind": kind,
        "intact": check.intact,
        "valid": check.valid,
        "trusted": check.trusted,
        "covers_whole_file": check.covers_whole_file,
        "files_checked": tuple(check.files_checked),
        "evidence_checked": check.evidence_checked,
        "signer": check.signer,
        "signer_fingerprint": check.signer_fingerprint,
        "signed_at": check.signed_at,
        "timestamp": check.timestamp,
        "packet_id": check.packet_id,
        "problems": tuple(check.problems),
        "warnings": tuple(check.warnings),
        "manifest": check.manifest_header,
    }
    values.update(overrides)
    return PacketVerification(**values)


def verify_file(path: Path, *, trust: Iterable[Path | x509.Certificate] = ()) -> PacketVerification:
    """Verify a packet PDF or a bundle zip against the trust roots given (PEM/DER files or certificates)."""
    path = Path(path)
    roots = load_trust_roots(trust)
    kind, wrong = _kind(path)
    if wrong is not None:
        return _result(path, kind, PdfCheck(problems=[wrong]))
    if kind == "pdf":
        return _result(path, kind, check_pdf(path, roots))
    return _verify_bundle(path, roots)


class _Unreadable(Exception):
    """A bundle member that zipfile cannot read back (bad CRC, damaged deflate data); the message says which."""


@contextmanager
def _open(zf: zipfile.ZipFile, name: str) -> Iterator[IO[bytes]]:
    try:
        with zf.open(name) as member:
            yield member
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise _Unreadable(f"{name}: cannot be read from the zip ({describe(exc)})") from None


def _hash_member(zf: zipfile.ZipFile, name: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with _open(zf, name) as member:
        while chunk := member.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


@dataclass
class _Contents:
    pdf: PdfCheck = field(default_factory=PdfCheck)
    cms: tuple[bool, bool, bool] = (False, False, False)
    files_checked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _verify_bundle(path: Path, roots: list[asn1_x509.Certificate]) -> PacketVerification:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:  # e.g. a truncated file has no end record
        problem = f"not a readable zip ({describe(exc)}); the file is damaged or truncated"
        return _result(path, "bundle", PdfCheck(problems=[problem]))
    found = _Contents()
    with zf:
        with path.open("rb") as raw:
            found.problems = layout_problems(raw, path.stat().st_size, zf.infolist())
        if not found.problems:  # zip readers disagree about the contents of any other container: not checked
            try:
                _check_contents(zf, roots, found)
            except _Unreadable as exc:
                found.problems.append(str(exc))
    pdf = found.pdf
    return _result(
        path,
        "bundle",
        pdf,
        intact=pdf.intact and found.cms[0],
        valid=pdf.valid and found.cms[1],
        trusted=pdf.trusted and found.cms[2],
        files_checked=tuple(found.files_checked),
        problems=tuple(found.problems),
    )


def _check_contents(zf: zipfile.ZipFile, roots: list[asn1_x509.Certificate], found: _Contents) -> None:
    problems = found.problems
    names = set(zf.namelist())
    for name in (n for n in (PDF_NAME, MANIFEST, SIGNATURE) if n not in names):
        problems.append(f"{name} is missing from the bundle; expected it beside {', '.join(sorted(names)[:5])}")
    if PDF_NAME in names:  # the packet PDF inside, verified fully (pyHanko needs a seekable file)
        with tempfile.TemporaryDirectory(prefix="auditpack-verify-") as work:
            pdf_path = Path(work) / PDF_NAME
            with _open(zf, PDF_NAME) as member, pdf_path.open("wb") as out:
                shutil.copyfileobj(member, out, CHUNK)
            found.pdf = check_pdf(pdf_path, roots)
        problems.extend(f"{PDF_NAME}: {p}" for p in found.pdf.problems)
    header: dict[str, Any] | None = None
    if MANIFEST in names:
        try:
            with _open(zf, MANIFEST) as member:
                header, entries = read_manifest(member)
                for _ in entries:
                    pass
        except (ManifestFormatError, UnicodeDecodeError) as exc:
            problems.append(f"{MANIFEST}: not a valid manifest ({exc})")
    if header is not None:
        problems.extend(_check_listed_files(zf, names, header, found.files_checked))
        problems.extend(_check_matches_packet(zf, header, found.pdf))
    if MANIFEST in names and SIGNATURE in names:
        found.cms, cms_problems = _check_manifest_signature(zf, roots, found.pdf)
        problems.extend(cms_problems)


def _check_listed_files(zf: zipfile.ZipFile, names: set[str], header: dict[str, Any], checked: list[str]) -> list[str]:
    problems = []
    listed: dict[str, dict[str, Any]] | None = header.get("bundle_files")
    if not isinstance(listed, dict):
        return [f"{MANIFEST} has no 'bundle_files'; expected the hash of every file in the bundle"]
    for name in sorted(names - set(listed) - {MANIFEST, SIGNATURE}):
        problems.append(f"{name} is in the bundle but not listed in {MANIFEST}")
    for name, entry in sorted(listed.items()):
        if name not in names:
            problems.append(
                f"{name} is listed in {MANIFEST} (sha256 {entry.get('sha256')}) but missing from the bundle"
            )
            continue
        sha256, size = _hash_member(zf, name)
        if sha256 != entry.get("sha256") or size != entry.get("size"):
            problems.append(
                f"{name}: sha256 {sha256} ({size:,} bytes) does not match {MANIFEST}, which lists "
                f"{entry.get('sha256')} ({entry.get('size', 0):,} bytes)"
            )
        checked.append(name)
    for required in (PDF_NAME, "evidence/" + PAYLOADS, "findings.csv", CHAIN, README):
        if required not in listed:
            problems.append(f"{MANIFEST} does not list {required}; expected every bundle file")
    problems.extend(customer_problems(header, listing="bundle_files", name_field="bundle_file"))
    problems.extend(oscal_problems(header))
    return problems


def _check_matches_packet(zf: zipfile.ZipFile, header: dict[str, Any], pdf: PdfCheck) -> list[str]:
    """The bundle manifest must be the packet's embedded manifest plus `bundle_files`, byte for byte."""
    if pdf.manifest_sha256 is None:
        return []
    prefix = bundle_prefix(header.get("bundle_files", {}))
    digest = hashlib.sha256(b"{")
    with _open(zf, MANIFEST) as member:
        head = member.read(len(prefix))
        if head != prefix:
            return [f"{MANIFEST} does not start with its bundle_files entry as auditpack writes it"]
        while chunk := member.read(CHUNK):
            digest.update(chunk)
    if digest.hexdigest() != pdf.manifest_sha256:
        return [f"{MANIFEST} describes different evidence than the manifest embedded in {PDF_NAME}"]
    payloads = header.get("files", {}).get(PAYLOADS, {}).get("sha256")
    bundled = header.get("bundle_files", {}).get("evidence/" + PAYLOADS, {}).get("sha256")
    if payloads != bundled:
        return [f"evidence/{PAYLOADS} (sha256 {bundled}) is not the {PAYLOADS} embedded in the packet ({payloads})"]
    return []


def _check_manifest_signature(
    zf: zipfile.ZipFile, roots: list[asn1_x509.Certificate], pdf: PdfCheck
) -> tuple[tuple[bool, bool, bool], list[str]]:
    try:
        with _open(zf, SIGNATURE) as member:
            content = cms.ContentInfo.load(member.read())
        signed_data = content["content"]
        if content["content_type"].native != "signed_data":
            raise ValueError(f"content type is {content['content_type'].native}")
    except ValueError as exc:
        return (False, False, False), [f"{SIGNATURE}: not a CMS SignedData structure ({exc})"]
    with _open(zf, MANIFEST) as member:
        status = run_coroutine(
            lambda: async_validate_detached_cms(
                member, signed_data, signer_validation_context=validation_context(roots)
            )
        )
    problems = []
    if not status.intact:
        problems.append(f"{SIGNATURE}: the signed digest does not match {MANIFEST} (the manifest was changed)")
    elif not status.valid:
        problems.append(f"{SIGNATURE}: the signature value is not valid for its certificate")
    if not status.trusted:
        problems.append(f"{SIGNATURE}: the manifest's signer does not chain to a trusted root")
    signer = fingerprint(status.signing_cert)
    if pdf.signer_fingerprint and signer != pdf.signer_fingerprint:
        problems.append(
            f"{SIGNATURE}: signed by certificate {signer[:16]}…, but {PDF_NAME} by {pdf.signer_fingerprint[:16]}…"
        )
    return (status.intact, status.valid, status.trusted), problems
