"""The bundle manifest's detached CMS signature: signed from the digest its writer computed (SHA-256 signers) or
from the data read again (a signer with another digest, e.g. a KMS key that fixes SHA-384); openssl verifies both,
and neither verifies other data."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import subprocess
import threading
import zipfile
from pathlib import Path

import pytest

from evidence.store import EvidenceStore
from reports.errors import PacketBuildError
from reports.packet import PacketResult, build_packet
from reports.pades import sign_detached, sign_digest
from reports.signing import PacketSigner, load_signer
from reports.verify import verify_file
from tests.reports.builders import scenario

DATA = b'{"bundle_files":{},"format":"auditpack-manifest/1"}\n' * 1000


def _verifies(signature: bytes, data: bytes, signer: PacketSigner, tmp_path: Path) -> bool:
    (tmp_path / "sig.p7s").write_bytes(signature)
    (tmp_path / "data").write_bytes(data)
    assert signer.trust_root is not None
    command = [
        "openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", "sig.p7s", "-content", "data",
        "-CAfile", str(signer.trust_root), "-purpose", "any", "-out", "/dev/null",
    ]  # fmt: skip
    return subprocess.run(command, cwd=tmp_path, capture_output=True, check=False).returncode == 0


@pytest.mark.parametrize("algorithm", ["sha256", "sha384", "sha512"])
def test_signed_from_the_digest_or_the_data_openssl_verifies_it(tmp_path: Path, algorithm: str) -> None:
    signer = dataclasses.replace(load_signer(data_dir=tmp_path / "auditpack"), digest_algorithm=algorithm)
    by_digest = sign_digest(hashlib.new(algorithm, DATA).digest(), signer)
    by_data = sign_detached(io.BytesIO(DATA), signer)
    for signature in (by_digest, by_data):
        assert _verifies(signature, DATA, signer, tmp_path)
        assert not _verifies(signature, DATA + b" ", signer, tmp_path)


@pytest.mark.parametrize("algorithm", ["sha256", "sha384"])
def test_a_bundle_signed_with_either_digest_verifies_offline(
    store: EvidenceStore, tmp_path: Path, algorithm: str
) -> None:
    signer = dataclasses.replace(load_signer(data_dir=tmp_path / "auditpack"), digest_algorithm=algorithm)
    result = _packet_and_bundle(store, signer, tmp_path)
    assert result.bundle_path is not None and signer.trust_root is not None
    verified = verify_file(result.bundle_path, trust=[signer.trust_root])
    assert verified.ok, verified.problems
    with zipfile.ZipFile(result.bundle_path) as bundle:
        manifest, signature = bundle.read("manifest.json"), bundle.read("manifest.json.p7s")
    assert _verifies(signature, manifest, signer, tmp_path)


def test_a_build_that_fails_after_the_bundle_was_started_leaves_no_file(
    store: EvidenceStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bundle's export files are copied in on a thread before the PDF is signed; a failure then removes the
    half-written zip like every other temporary file, and says which stage failed."""
    signer = load_signer(data_dir=tmp_path / "auditpack")
    out = tmp_path / "out"
    out.mkdir()

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("the signing device is gone")

    monkeypatch.setattr("reports.packet.sign_pdf", refuse)
    with pytest.raises(PacketBuildError, match="signing the packet failed: OSError: the signing device is gone"):
        _packet_and_bundle(store, signer, out)
    assert list(out.iterdir()) == []
    assert not [thread for thread in threading.enumerate() if thread.name == "bundle-copy"]


def _packet_and_bundle(store: EvidenceStore, signer: PacketSigner, directory: Path) -> PacketResult:
    data = scenario(store, buckets=3)
    return build_packet(
        store=store,
        status=data.status,
        findings=data.findings,
        gaps=data.gaps,
        signer=signer,
        out_pdf=directory / "packet.pdf",
        out_bundle=directory / "bundle.zip",
        packet_id=f"PKT-{signer.digest_algorithm}",
        org_name="Example Corp",
        generated_by="tests",
    )
