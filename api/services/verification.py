"""Verify a ready packet: re-hash each file on disk against what was recorded at build time, and (when a
verifier is configured) validate each file's signature. Nothing is cached: every call reads the files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from api.executors import PacketVerifier
from api.models import Packet, PacketStatus
from api.services.packets import file_sha256
from core.errors import AuditpackError, ConflictError


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


def verify_packet(packet: Packet, *, data_dir: Path, verifier: PacketVerifier | None) -> PacketCheck:
    if packet.status != PacketStatus.READY.value:
        raise ConflictError(f"packet {packet.id} is {packet.status}; only a ready packet can be verified")
    recorded = [("pdf", packet.pdf_path, packet.pdf_sha256, packet.pdf_size)]
    if packet.bundle_path:
        recorded.append(("bundle", packet.bundle_path, packet.bundle_sha256, packet.bundle_size))
    root = data_dir.resolve()
    files = []
    for name, relative, expected, size in recorded:
        path = (root / (relative or "")).resolve()
        actual = actual_size = None
        if path.is_relative_to(root) and path.is_file():
            actual, actual_size = file_sha256(path)
        signature = _signature(verifier, path) if verifier is not None and actual is not None else None
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
