"""The evidence bundle: the signed packet, the evidence files, a manifest listing every file, the manifest's
detached CMS signature, the signer's chain and VERIFY.md, in one zip written to a temporary file.

The export files are not compressed here: each was deflated once while it was written (reports.streams), and its
zip member is that deflate data copied as it is, with the CRC-32 computed then (issue 18: compressing the payloads
a second time and the OSCAL documents on the critical path was a large share of a bundle build).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from isal import isal_zlib
from jinja2 import Environment, PackageLoader, StrictUndefined
from pyhanko.sign.timestamps import TimeStamper

from reports.bundle_files import CHAIN, MANIFEST, PDF_NAME, README, SIGNATURE
from reports.manifest import bundle_prefix
from reports.pades import sign_detached, sign_digest
from reports.signing import PacketSigner
from reports.streams import ZLIB_HEADER, ZLIB_TRAILER, DeflatedPart, ExportedFile, ExportWriter, write_parts

COPY_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class BundleText:
    """What VERIFY.md says about the packet."""

    packet_id: str
    framework_name: str
    org_name: str
    generated_at: str
    generated_by: str


def _entry(sha256: str, size: int) -> dict[str, object]:
    return {"sha256": sha256, "size": size}


def verify_md(text: BundleText, signer: PacketSigner) -> bytes:
    env = Environment(loader=PackageLoader("reports", "templates"), undefined=StrictUndefined, autoescape=False)  # noqa: S701 - Markdown, not HTML
    rendered = env.get_template(README).render(
        packet_id=text.packet_id,
        framework_name=text.framework_name,
        org_name=text.org_name,
        generated_at=text.generated_at,
        generated_by=text.generated_by,
        signer_identity=signer.identity,
        self_signed=signer.self_signed,
        fingerprint=signer.fingerprint,
    )
    return rendered.encode("utf-8")


def file_facts(path: Path) -> tuple[str, int, int]:
    """(sha256, size, CRC-32) of a file, in one read (a zip member's CRC without a second pass)."""
    digest = hashlib.sha256()
    size = crc = 0
    with path.open("rb") as handle:
        while chunk := handle.read(COPY_CHUNK):
            digest.update(chunk)
            crc = isal_zlib.crc32(chunk, crc)
            size += len(chunk)
    return digest.hexdigest(), size, crc


class _HashedFile:
    """The bundle's file, hashed as it is written. Every member is written with its sizes and CRC known up front,
    so zipfile only appends (its `seek` to where it already is); a seek anywhere else would leave the hash wrong and
    is refused (issue 18: hashing the written bundle again was 650 MB read back at a million items)."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("wb")
        self._hash = hashlib.sha256()
        self._size = 0

    def write(self, data: bytes) -> int:
        self._hash.update(data)
        self._size += len(data)
        return self._file.write(data)

    def tell(self) -> int:
        return self._size

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence != 0 or offset != self._size:
            raise ValueError("the bundle is written front to back; a member was not written with its sizes known")
        return self._size

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def digest(self) -> tuple[str, int]:
        return self._hash.hexdigest(), self._size


def _member(
    zf: zipfile.ZipFile,
    name: str,
    modified: datetime,
    *,
    deflated: bool,
    size: int,
    crc: int,
    compressed_size: int,
    chunks: Iterable[bytes],
) -> None:
    """Add a member whose data (`chunks`, already deflated when `deflated`), sizes and CRC are known up front.

    zipfile has no public way to add already-compressed data, so this does what `ZipFile.open(name, "w")` does
    with sizes and CRC known (no data descriptor, and no going back to rewrite the header); the verifier's strict
    layout check covers the result."""
    info = zipfile.ZipInfo(name, date_time=modified.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED if deflated else zipfile.ZIP_STORED
    info.external_attr = 0o600 << 16
    info.file_size, info.compress_size, info.CRC = size, compressed_size, crc
    zip64 = max(size, compressed_size) > zipfile.ZIP64_LIMIT
    if zf._writing:
        raise ValueError("another member is being written")
    zf.fp.seek(zf.start_dir)
    info.header_offset = zf.fp.tell()
    zf._writecheck(info)
    zf._didModify = True
    zf.fp.write(info.FileHeader(zip64))
    written = 0
    for chunk in chunks:
        zf.fp.write(chunk)
        written += len(chunk)
    if written != compressed_size:
        raise ValueError(f"{name}: {written} bytes of member data, expected {compressed_size}")
    zf.filelist.append(info)
    zf.NameToInfo[info.filename] = info
    zf.start_dir = zf.fp.tell()


def _read_range(path: Path, offset: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as source:
        source.seek(offset)
        remaining = length
        while remaining:
            chunk = source.read(min(COPY_CHUNK, remaining))
            if not chunk:
                raise ValueError(f"{path} ends early")
            yield chunk
            remaining -= len(chunk)


def _copy_deflated(zf: zipfile.ZipFile, file: ExportedFile) -> None:
    """Add `file` under its bundle name as a deflated member whose data is copied from its zlib stream."""
    if file.zlib_path is None:
        raise ValueError(f"{file.name} was not kept for the bundle (bundle=True)")
    deflated = file.zlib_path.stat().st_size - ZLIB_HEADER - ZLIB_TRAILER
    data = _read_range(file.zlib_path, ZLIB_HEADER, deflated)
    _member(
        zf,
        file.bundle_name,
        file.modified,
        deflated=True,
        size=file.size,
        crc=file.crc32,
        compressed_size=deflated,
        chunks=data,
    )


def _copy_pdf(zf: zipfile.ZipFile, path: Path, size: int, crc: int, modified: datetime) -> None:
    """The signed packet as a stored member: it is compressed already."""
    _member(
        zf,
        PDF_NAME,
        modified,
        deflated=False,
        size=size,
        crc=crc,
        compressed_size=size,
        chunks=_read_range(path, 0, size),
    )


def _add_bytes(zf: zipfile.ZipFile, name: str, data: bytes, modified: datetime, *, deflate: bool) -> None:
    """A small member from bytes (the signature stored; VERIFY.md and the chain deflated, as `writestr` did)."""
    stored = data
    if deflate:
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        stored = compressor.compress(data) + compressor.flush()
    _member(
        zf,
        name,
        modified,
        deflated=deflate,
        size=len(data),
        crc=zlib.crc32(data),
        compressed_size=len(stored),
        chunks=[stored],
    )


def _write_parts(out: ExportWriter, parts: Sequence[bytes | DeflatedPart]) -> int:
    """Write the packet manifest's parts, all but its opening brace (the bundle's prefix replaces it); returns how
    many bytes of the manifest the parts held."""
    first = parts[0] if parts else b""
    if not isinstance(first, bytes) or not first.startswith(b"{"):
        raise ValueError("the packet manifest does not start with '{'")
    return write_parts(out, parts, skip=1)


def write_bundle(
    target: Path,
    *,
    work_dir: Path,
    pdf_path: Path,
    manifest: ExportedFile,
    manifest_parts: Sequence[bytes | DeflatedPart],
    payloads: ExportedFile,
    findings: ExportedFile,
    signer: PacketSigner,
    text: BundleText,
    timestamper: TimeStamper | None = None,
    extra: Sequence[ExportedFile] = (),
    pdf_digest: tuple[str, int, int] | None = None,
    started: BundleStart | None = None,
) -> tuple[str, int]:
    """Write the bundle zip to `target` (a temporary path the caller renames into place).

    manifest_parts: the packet manifest's bytes, in order (its header, its evidence entries as a DeflatedPart, its
        footer): the bundle's manifest is made from them, the entries spliced in compressed, so the packet's
        manifest is never kept uncompressed as a whole nor compressed twice (~380 MB at a million items).
    extra: more export files (customer evidence), each written under its `bundle_name`.
    pdf_digest: the PDF's (sha256, size, CRC-32) when the caller has just worked it out (`file_facts`).
    started: the zip opened with some of the export files already copied in (`BundleStart` on `target`).
    Returns the bundle's (sha256, size), hashed while it was written."""
    unkept = any(file.zlib_path is None for file in (payloads, findings, *extra))
    if unkept:
        raise ValueError("the bundle needs the export files kept for it (bundle=True)")
    chain = signer.chain_pem()
    readme = verify_md(text, signer)
    pdf_sha, pdf_size, pdf_crc = pdf_digest or file_facts(pdf_path)
    files = {
        PDF_NAME: _entry(pdf_sha, pdf_size),
        payloads.bundle_name: _entry(payloads.sha256, payloads.size),
        findings.bundle_name: _entry(findings.sha256, findings.size),
        CHAIN: _entry(hashlib.sha256(chain).hexdigest(), len(chain)),
        README: _entry(hashlib.sha256(readme).hexdigest(), len(readme)),
        **{file.bundle_name: _entry(file.sha256, file.size) for file in extra},
    }
    # Through an ExportWriter like the other files: deflated (cheap level) and CRC'd in its thread while written.
    bundle_manifest = ExportWriter(
        work_dir,
        name="bundle-manifest.json",
        bundle_name=MANIFEST,
        media_type="application/json",
        description="the bundle's manifest",
        modified=manifest.modified,
        bundle=True,
        keep_raw=signer.digest_algorithm != "sha256",  # signed below: by its SHA-256 as written, else read again
        embed=False,
    )
    try:
        bundle_manifest.write(bundle_prefix(files))
        written = _write_parts(bundle_manifest, manifest_parts)
        signed = bundle_manifest.finish()
        if written != manifest.size:  # the parts are not the manifest the PDF embeds
            raise ValueError(f"the packet manifest's parts hold {written} bytes; the manifest has {manifest.size}")
    except BaseException:
        bundle_manifest.abort()
        raise
    if signer.digest_algorithm == "sha256":  # the digest the writer computed: no second read of ~400 MB at 1M items
        signature = sign_digest(bytes.fromhex(signed.sha256), signer, timestamper=timestamper)
    else:
        assert signed.raw_path is not None  # keep_raw
        with signed.raw_path.open("rb") as data:
            signature = sign_detached(data, signer, timestamper=timestamper)
    modified = manifest.modified
    opened = started or BundleStart(target)
    try:
        zf = opened.join()  # the members copied ahead, if any, are in
        if opened.pdf is None:
            _copy_pdf(zf, pdf_path, pdf_size, pdf_crc, modified)
        elif opened.pdf != (pdf_path, pdf_size, pdf_crc):
            raise ValueError("the packet copied into the bundle is not the one its manifest lists")
        _copy_deflated(zf, signed)
        _add_bytes(zf, SIGNATURE, signature, modified, deflate=False)
        for file in (payloads, findings, *extra):
            if file not in opened.files:
                _copy_deflated(zf, file)
        _add_bytes(zf, CHAIN, chain, modified, deflate=True)
        _add_bytes(zf, README, readme, modified, deflate=True)
        zf.close()  # the central directory
    finally:
        opened.close()
    return opened.digest()


class BundleStart:
    """The bundle's zip opened before the packet is signed, export files that are ready (the payloads, findings and
    OSCAL documents: ~480 MB of deflate data at a million items) copied into it on a thread while the caller waits
    for the OSCAL documents, writes the manifest and signs the PDF; `write_bundle(started=...)` adds the rest.
    Members go in the order they are written; a bundle is read by name (issue 18: these copies were a second of the
    build's single-threaded end)."""

    def __init__(self, target: Path) -> None:
        self.files: tuple[ExportedFile, ...] = ()
        self.pdf: tuple[Path, int, int] | None = None  # the signed packet, copied in (path, size, CRC-32)
        self._out = _HashedFile(target)
        self._zf = zipfile.ZipFile(self._out, "w", allowZip64=True)  # type: ignore[call-overload]
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def copy(self, files: Sequence[ExportedFile]) -> None:
        """Copy `files` in on a thread, after the ones asked for before."""
        self.join()
        copied = tuple(files)
        self.files += copied
        self._start(lambda: [_copy_deflated(self._zf, file) for file in copied])

    def copy_pdf(self, path: Path, size: int, crc: int, modified: datetime) -> None:
        """Copy the signed packet in (stored: it is compressed already) on a thread, after the files asked for
        before, while the caller writes and signs the bundle's manifest."""
        self.join()
        self.pdf = (path, size, crc)
        self._start(lambda: _copy_pdf(self._zf, path, size, crc, modified))

    def _start(self, action: Callable[[], object]) -> None:
        self._thread = threading.Thread(target=self._run, args=(action,), name="bundle-copy", daemon=True)
        self._thread.start()

    def _run(self, action: Callable[[], object]) -> None:
        try:
            action()
        except BaseException as exc:  # raised in the caller's thread by join()
            self._error = exc

    def join(self) -> zipfile.ZipFile:
        """The zip, once the copies asked for are done; what a copy raised is raised here."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            raise self._error
        return self._zf

    def close(self) -> None:
        """Close the file; on a failed build (the zip not finished) the caller removes it. Idempotent."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._zf.fp is not None:  # not finished: end it anyway, so that nothing writes to it when collected
            with contextlib.suppress(Exception):
                self._zf.close()
        self._out.close()

    def digest(self) -> tuple[str, int]:
        return self._out.digest()
