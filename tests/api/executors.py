"""Small real implementations of the API's executor protocols, for tests.

- `SigningBuilder` writes a packet file and a bundle zip and signs them with Ed25519 (a PDF-like file whose
  trailer holds a detached signature over the body; a zip whose comment holds the signature over manifest.json).
- `SignatureVerifier` checks those signatures against trusted public keys, reporting intact/valid/trusted.
- `StoreCollector` records evidence in the real EvidenceStore and seals the run, like the orchestrator.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from api.executors import BuiltPacket, CollectRequest, PacketRequest
from core.errors import InputError
from evidence.store import EvidenceStore
from reports.manifest import FOOTER, bundle_prefix, header_bytes

SIG_MARK = b"\n%%AUDITPACK-SIG:"


def fingerprint(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()


@dataclass
class SigningBuilder:
    run_ids: tuple[int, ...] = ()
    padding: int = 4096  # bytes of filler, to make files of a chosen size
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    fail_with: Exception | None = None
    calls: list[PacketRequest] = field(default_factory=list)
    release: threading.Event | None = None  # when set, the build waits for it (to test in-flight states)
    customer_item_ids: tuple[int, ...] = ()  # what the built packet lists of customer evidence and exceptions
    exception_ids: tuple[int, ...] = ()
    # OSCAL documents (name -> bytes) the bundle carries under oscal/, listed in an auditpack-format manifest
    # ({}: such a manifest without OSCAL documents, as a packet built before them has)
    oscal: dict[str, bytes] | None = None

    def __call__(self, request: PacketRequest) -> BuiltPacket:
        self.calls.append(request)
        if self.release is not None:
            self.release.wait(timeout=30)
        if self.fail_with is not None:
            raise self.fail_with
        header = json.dumps(
            {"packet_id": request.packet_id, "framework": request.framework, "runs": list(self.run_ids)}
        ).encode()
        filler = (hashlib.sha256(request.packet_id.encode()).digest() * (self.padding // 32 + 1))[: self.padding]
        body = b"%PDF-1.7\n% auditpack test packet\n" + header + b"\n" + filler
        signature = self.key.sign(body)
        request.out_pdf.write_bytes(body + SIG_MARK + signature.hex().encode() + b"\n")
        manifest = json.dumps({"packet_id": request.packet_id, "pdf_sha256": hashlib.sha256(body).hexdigest()}).encode()
        members: dict[str, bytes] = {}
        if self.oscal is not None:
            members = {f"oscal/{name}.json": data for name, data in self.oscal.items()}
            manifest = _manifest(request.packet_id, members)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("manifest.json", manifest)
            for name, data in members.items():
                archive.writestr(name, data)
            archive.comment = self.key.sign(manifest).hex().encode()
        request.out_bundle.write_bytes(buffer.getvalue())
        return BuiltPacket(
            run_ids=self.run_ids,
            pdf_path=request.out_pdf,
            bundle_path=request.out_bundle,
            signer_fingerprint=fingerprint(self.key.public_key()),
            signer_identity="CN=auditpack test signer",
            self_signed=True,
            pages=1,
            pdf_sha256=hashlib.sha256(request.out_pdf.read_bytes()).hexdigest(),
            customer_item_ids=self.customer_item_ids,
            exception_ids=self.exception_ids,
        )


def _manifest(packet_id: str, members: dict[str, bytes]) -> bytes:
    """A manifest as auditpack writes it (reports.manifest), listing `members` in bundle_files and `oscal`."""
    files = {name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)} for name, data in members.items()}
    documents = {
        name.removeprefix("oscal/").removesuffix(".json"): {"file": name, **entry} for name, entry in files.items()
    }
    oscal = {"oscal": {"oscal_version": "1.2.1", "documents": documents}} if documents else {}
    header = header_bytes({"packet_id": packet_id, **oscal})
    return bundle_prefix(files) + (header + FOOTER)[1:]


@dataclass(frozen=True)
class Verification:
    intact: bool
    valid: bool
    trusted: bool
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.intact and self.valid


@dataclass
class SignatureVerifier:
    trusted_keys: tuple[Ed25519PublicKey, ...]

    def __call__(self, path: Path) -> Verification:
        data = path.read_bytes()
        if path.suffix == ".zip":
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                signed, signature_hex = archive.read("manifest.json"), archive.comment
        else:
            signed, sep, signature_hex = data.rpartition(SIG_MARK)
            if not sep:
                raise InputError(f"{path.name} carries no signature")
        try:
            signature = bytes.fromhex(signature_hex.decode().strip())
        except ValueError:
            return Verification(False, False, False, ("the signature is not readable",))
        for key in self.trusted_keys:
            try:
                key.verify(signature, signed)
            except InvalidSignature:
                continue
            return Verification(intact=True, valid=True, trusted=True, problems=())
        return Verification(False, False, False, ("the signature does not match the signed content",))


@dataclass
class StoreCollector:
    store: EvidenceStore
    items: int = 3
    gaps: int = 1
    calls: list[tuple[CollectRequest, str, str]] = field(default_factory=list)

    def __call__(self, scope: CollectRequest, requested_by: str, *, trigger: str) -> int:
        self.calls.append((scope, requested_by, trigger))
        run = self.store.start_run(trigger=trigger, requested_by=requested_by, scope=scope.to_json())
        account = scope.accounts[0] if scope.accounts else "111111111111"
        with self.store.recorder(run.id) as recorder:
            for index in range(self.items):
                recorder.add(
                    account_id=account,
                    region="us-east-1",
                    service="s3",
                    resource_type="bucket",
                    resource_id=f"arn:aws:s3:::bucket-{run.id}-{index}",
                    kind="s3.bucket_encryption",
                    payload={"bucket": f"bucket-{run.id}-{index}", "encrypted": index % 2 == 0},
                )
            for index in range(self.gaps):
                recorder.add_gap(
                    account_id=account,
                    region="eu-west-1",
                    service="ec2",
                    operation="DescribeInstances",
                    error_code="AccessDenied",
                    message=f"not authorized ({index})",
                )
        self.store.finish_run(run.id)
        return run.id
