"""Export files written once, streamed: hashed, Flate-compressed for the PDF and, when a bundle needs it, kept plain.

The compressed stream serves the bundle too (issue 18): a zip member's deflate data is the zlib stream without its
2-byte header and 4-byte Adler-32 trailer, so with the CRC-32 computed here the bundle copies it instead of
compressing the file a second time. A bundle-only file (the OSCAL documents) is compressed here as well, at a
cheap level: it is bundle data only, and the largest there is (2.5 GB of JSON at a million items).

A packet for a million evidence items carries hundreds of megabytes of manifest and payloads, so nothing here
holds a whole file in memory. Hashing, and compression with the disk writes, run on two worker threads per file
(zlib and hashlib release the GIL), overlapping each other and the caller's database reads and JSON formatting; at
most a few buffers are in flight, which bounds memory.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from isal import isal_zlib

CHUNK = 1 << 20
MAX_IN_FLIGHT = 4
# ISA-L level 1 (of 0-3, not zlib's levels) for every file. Measured on a million-item packet's files (2-core machine
# with SHA-NI and AVX-512): level 1 deflates the payloads, manifest and findings at 780-1,290 MB/s, level 3 at
# 340-360 MB/s to 3.5-8% fewer bytes (zlib level 6: ~100 MB/s); the OSCAL JSON at ~1,600 MB/s. Level 3 cost 4.4 s
# of CPU per million items, a second of it after the OSCAL documents, when nothing else runs (issue 18).
COMPRESSION_LEVEL = 1
ZLIB_HEADER, ZLIB_TRAILER = 2, 4  # around the raw deflate data a zip member holds
# A zlib stream's header (deflate, 32 KB window, a fast level): the writers deflate raw and wrap it themselves, so
# that data compressed elsewhere (a DeflatedPart) can be spliced in, with the Adler-32 of all of it at the end.
ZLIB_PREFIX = b"\x78\x5e"


@dataclass(frozen=True, slots=True)
class DeflatedPart:
    """Bytes kept twice, for an ExportWriter to splice in without compressing them again: plain (hashed where they
    land, in order) and as raw deflate data that refers to nothing before it and ends on a byte boundary without
    being the last block (a sync flush). A packet's manifest and its bundle's both hold the evidence entries (~380 MB
    at a million items): compressed once while the OSCAL documents are still being written, instead of twice on
    the build's single-threaded end (issue 18)."""

    plain_path: Path
    deflated_path: Path
    size: int


class _Buffered:
    """Gathers what is written into pieces of at least CHUNK bytes for a writer's threads (one join per piece)."""

    def __init__(self) -> None:
        self._buffer: list[bytes] = []
        self._buffered = self._written = 0

    def write(self, data: bytes) -> None:
        self._buffer.append(data)
        self._buffered += len(data)
        self._written += len(data)
        if self._buffered >= CHUNK:
            self._flush()

    def _take(self) -> bytes | None:
        """The bytes gathered so far, as one piece (None: nothing)."""
        if not self._buffer:
            return None
        chunk = b"".join(self._buffer)
        self._buffer.clear()
        self._buffered = 0
        return chunk

    def _flush(self) -> None:
        raise NotImplementedError


class PartWriter(_Buffered):
    """Writes a DeflatedPart: `write` bytes, then `finish`. Compression and disk writes run on a worker thread."""

    def __init__(self, plain_path: Path, deflated_path: Path) -> None:
        super().__init__()
        self._plain_path, self._deflated_path = plain_path, deflated_path
        self._plain = plain_path.open("wb")
        self._deflated = deflated_path.open("wb")
        self._compressor = isal_zlib.compressobj(COMPRESSION_LEVEL, isal_zlib.DEFLATED, -15)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="part")
        self._pending: deque[Future[None]] = deque()

    def _flush(self) -> None:
        chunk = self._take()
        if chunk is None:
            return
        while len(self._pending) >= MAX_IN_FLIGHT:
            self._pending.popleft().result()
        self._pending.append(self._worker.submit(self._consume, chunk))

    def _consume(self, chunk: bytes) -> None:
        self._plain.write(chunk)
        self._deflated.write(self._compressor.compress(chunk))

    def finish(self) -> DeflatedPart:
        self._flush()
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            self._worker.shutdown(wait=True)
        self._deflated.write(self._compressor.flush(isal_zlib.Z_SYNC_FLUSH))
        self.close()
        return DeflatedPart(self._plain_path, self._deflated_path, self._written)

    def close(self) -> None:
        """Stop (a failed build); idempotent."""
        for future in self._pending:
            future.cancel()
        self._worker.shutdown(wait=True)
        self._plain.close()
        self._deflated.close()


@dataclass(frozen=True, slots=True)
class ExportedFile:
    """A finished export file.

    name: its name as an attachment (and in the bundle, under `bundle_name`).
    sha256, size: of the plain content.
    deflated_path: the content as one zlib (FlateDecode) stream, ready to embed in the PDF (None: a bundle-only
        file, never embedded).
    raw_path: the plain content, when kept (`keep_raw`: the bundle's manifest when it is signed with a digest
        other than SHA-256, which is read again to sign it).
    zlib_path: the content as one zlib stream, for the bundle's zip member (the embedded stream itself for a file
        the PDF embeds; None when no bundle is written).
    crc32: of the plain content (the zip member's CRC).
    """

    name: str
    bundle_name: str
    media_type: str
    description: str
    sha256: str
    size: int
    deflated_path: Path | None
    raw_path: Path | None
    modified: datetime
    zlib_path: Path | None = None
    crc32: int = 0

    def manifest_entry(self) -> dict[str, object]:
        return {
            "sha256": self.sha256,
            "size": self.size,
            "media_type": self.media_type,
            "description": self.description,
        }


class ExportWriter(_Buffered):
    """Write-once sink for one export file. Call `write` with bytes, then `finish` (or `abort` on failure)."""

    def __init__(
        self,
        work_dir: Path,
        *,
        name: str,
        media_type: str,
        description: str,
        modified: datetime,
        bundle: bool,
        keep_raw: bool = False,
        bundle_name: str | None = None,
        embed: bool = True,
    ) -> None:
        """bundle: the file goes into the bundle too (its zlib stream and CRC-32 are kept for the zip member).
        keep_raw: also keep the plain bytes on disk, for a file something reads again (only the bundle's manifest,
            when its signer's digest is not the SHA-256 computed here; at a million items the plain copies of the
            payloads, findings, manifests and OSCAL documents were 3.7 GB written for nothing).
        embed: also write the deflated stream the PDF embeds; False for bundle-only files."""
        if not embed and not bundle:
            raise ValueError("a file that is neither embedded nor kept for the bundle would be written nowhere")
        super().__init__()
        self.name = name
        self._bundle_name = bundle_name or name
        self._media_type = media_type
        self._description = description
        self._modified = modified
        self._deflated_path = work_dir / f"{name}.zlib"
        self._embed = embed
        self._bundle = bundle
        self._raw_path = work_dir / name if keep_raw else None
        self._hash = hashlib.sha256()
        self._crc = 0
        self._adler = 1  # the zlib stream's checksum (isal's Adler-32 is ~17 GB/s)
        self._compressor = isal_zlib.compressobj(COMPRESSION_LEVEL, isal_zlib.DEFLATED, -15)
        self._deflated = self._deflated_path.open("wb")
        self._deflated.write(ZLIB_PREFIX)
        self._raw = self._raw_path.open("wb") if self._raw_path else None
        self._size = 0
        # Two lanes, each in order: the digests (SHA-256, CRC-32) and the deflate and disk writes. Apart, a file costs
        # the longer of the two instead of their sum: the manifests are written after every other stage, alone.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"export-{name}")
        self._digester = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"digest-{name}")
        self._pending: deque[tuple[Future[None], Future[None]]] = deque()

    def _flush(self) -> None:
        chunk = self._take()
        if chunk is None:
            return
        while len(self._pending) >= MAX_IN_FLIGHT:
            self._wait(self._pending.popleft())
        self._pending.append((self._digester.submit(self._digest, chunk), self._worker.submit(self._consume, chunk)))

    @staticmethod
    def _wait(pair: tuple[Future[None], Future[None]]) -> None:
        for future in pair:
            future.result()

    def splice(self, part: DeflatedPart) -> None:
        """Append `part`'s bytes: its deflate data copied in after a full flush (what follows refers to nothing
        before it either), its plain bytes hashed."""
        self._flush()
        self._pending.append(
            (self._digester.submit(self._digest_file, part.plain_path), self._worker.submit(self._splice, part))
        )

    def _digest(self, chunk: bytes) -> None:
        self._hash.update(chunk)
        self._crc = isal_zlib.crc32(chunk, self._crc)
        self._adler = isal_zlib.adler32(chunk, self._adler)
        self._size += len(chunk)

    def _digest_file(self, path: Path) -> None:
        with path.open("rb") as source:
            while chunk := source.read(CHUNK):
                self._digest(chunk)

    def _splice(self, part: DeflatedPart) -> None:
        self._deflated.write(self._compressor.flush(isal_zlib.Z_FULL_FLUSH))
        _copy(part.deflated_path, self._deflated)
        if self._raw is not None:
            _copy(part.plain_path, self._raw)

    def _consume(self, chunk: bytes) -> None:
        self._deflated.write(self._compressor.compress(chunk))
        if self._raw is not None:
            self._raw.write(chunk)

    def finish(self) -> ExportedFile:
        self._flush()
        try:
            while self._pending:
                self._wait(self._pending.popleft())
        finally:
            self._worker.shutdown(wait=True)
            self._digester.shutdown(wait=True)
        self._deflated.write(self._compressor.flush() + self._adler.to_bytes(4, "big"))
        self._close_files()
        return ExportedFile(
            name=self.name,
            bundle_name=self._bundle_name,
            media_type=self._media_type,
            description=self._description,
            sha256=self._hash.hexdigest(),
            size=self._size,
            deflated_path=self._deflated_path if self._embed else None,
            raw_path=self._raw_path,
            modified=self._modified,
            zlib_path=self._deflated_path if self._bundle else None,
            crc32=self._crc,
        )

    def abort(self) -> None:
        for pair in self._pending:
            for future in pair:
                future.cancel()
        self._worker.shutdown(wait=True)
        self._digester.shutdown(wait=True)
        self._close_files()

    def _close_files(self) -> None:
        self._deflated.close()
        if self._raw is not None:
            self._raw.close()


def _copy(path: Path, out: BinaryIO) -> None:
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            out.write(chunk)


def write_parts(out: ExportWriter, parts: Sequence[bytes | DeflatedPart], *, skip: int = 0) -> int:
    """Write `parts` in order, bytes as they are and DeflatedParts spliced in, leaving out their first `skip`
    bytes (the bundle's manifest replaces the packet manifest's opening brace); returns how many bytes the parts
    held, skipped ones included."""
    held = 0
    for part in parts:
        if isinstance(part, DeflatedPart):
            if held < skip:
                raise ValueError("a spliced part cannot be cut")
            out.splice(part)
            held += part.size
            continue
        cut = max(0, min(len(part), skip - held))
        if cut < len(part):
            out.write(part[cut:])
        held += len(part)
    return held
