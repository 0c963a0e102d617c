"""Verify a ready packet: re-hash each file on disk against what was recorded at build time, and (when a
verifier is configured) validate each file's signature. Nothing is cached: every call reads the files. With an S3
blob store the files checked are the objects, read back into a temporary file of the data directory."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.executors import PacketVerifier
from api.models import Packet, PacketStatus
from api.services.packets import file_sha256
from core.errors import AuditpackError, ConflictError, VerificationError
from evidence.blobstore import BlobStore


@dataclass(frozen=True, slots=True)
class SignatureResult:
    intact: bool
    valid: bool
    trusted: bool
    problems: list[str]

    @property
    def ok(self) -> bool:
        """Intact and valid, and the verifier found nothing wrong (it reports an untrusted signer as a problem,
        as well as e.g. a bundle file that does not match its manifest)."""
        return self.intact and self.valid and not self.problems


@dataclass(frozen=True, slots=True)
class FileCheck:
    name: str
    expected_sha256: str
    actual_sha256: str | None
    expected_size: int
    actual_size: int | None
    intact: bool
    signature: SignatureResult | None


@dataclass(frozen=True, slots=True)
class PacketCheck:
    packet_id: str
    ok: bool
    signatures_checked: bool
    files: list[FileCheck]


def verify_packet(
    packet: Packet, *, data_dir: Path, verifier: PacketVerifier | None, blobs: BlobStore | None = None
) -> PacketCheck:
    if packet.status != PacketStatus.READY.value:
        raise ConflictError(f"packet {packet.id} is {packet.status}; only a ready packet can be verified")
    recorded = [("pdf", packet.pdf_path, packet.pdf_sha256, packet.pdf_size)]
    if packet.bundle_path:
        recorded.append(("bundle", packet.bundle_path, packet.bundle_sha256, packet.bundle_size))
    root = data_dir.resolve()
    files = []
    for name, relative, expected, size in recorded:
        with _readable(root, relative or "", expected or "", blobs) as path:
            actual = actual_size = None
            if path is not None:
                actual, actual_size = file_sha256(path)
            signature = _signature(verifier, path) if verifier is not None and path is not None else None
        files.append(
            FileCheck(
                name=name,
                expected_sha256=expected or "",
                actual_sha256=actual,
                expected_size=size or 0,
                actual_size=actual_size,
                intact=actual is not None and actual == expected and actual_size == size,
                signature=signature,
            )
        )
    ok = all(f.intact and (f.signature is None or f.signature.ok) for f in files)
    return PacketCheck(packet_id=packet.id, ok=ok, signatures_checked=verifier is not None, files=files)


@contextmanager
def _readable(root: Path, relative: str, sha256: str, blobs: BlobStore | None) -> Iterator[Path | None]:
    """The file to check: in the data directory, or the S3 object copied into a temporary file (None: missing)."""
    if blobs is None or not blobs.external:
        path = (root / relative).resolve()
        yield path if path.is_relative_to(root) and path.is_file() else None
        return
    store: Any = blobs
    with tempfile.TemporaryDirectory(dir=root, prefix=".verify-") as work:
        path = Path(work) / Path(relative).name
        try:
            with path.open("wb") as out:
                for chunk in store.chunks(sha256):
                    out.write(chunk)
        except VerificationError:  # the object is missing: reported as a file that is not there
            yield None
            return
        yield path


def _signature(verifier: PacketVerifier, path: Path) -> SignatureResult:
    try:
        result = verifier(path)
    except AuditpackError as exc:  # the verifier could not even read it: that is a failed verification
        return SignatureResult(intact=False, valid=False, trusted=False, problems=[exc.diagnostics()])
    return SignatureResult(
        intact=bool(result.intact),
        valid=bool(result.valid),
        trusted=bool(result.trusted),
        problems=[str(problem) for problem in result.problems],
    )
