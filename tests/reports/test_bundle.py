"""The evidence bundle: its files, the manifest's detached CMS signature (openssl cms), and no private keys."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from pypdf import PdfReader

from reports.bundle import _HashedFile
from reports.verify import verify_file
from tests.reports.conftest import Built
from tests.reports.pki import make_ca

EXPECTED = {
    "packet.pdf",
    "manifest.json",
    "manifest.json.p7s",
    "evidence/evidence.ndjson",
    "findings.csv",
    "signer-chain.pem",
    "VERIFY.md",
    # the OSCAL documents (docs/interchange.md)
    "oscal/catalog.json",
    "oscal/ssp.json",
    "oscal/assessment-results.json",
    "oscal/poam.json",
}


def _extract(built: Built, target: Path) -> Path:
    assert built.result.bundle_path is not None
    with zipfile.ZipFile(built.result.bundle_path) as zf:
        zf.extractall(target)
    return target


def test_bundle_holds_every_file_listed_with_its_hash(built: Built, tmp_path: Path) -> None:
    assert built.result.bundle_path is not None
    with zipfile.ZipFile(built.result.bundle_path) as zf:
        assert set(zf.namelist()) == EXPECTED
        manifest = json.loads(zf.read("manifest.json"))
        for name, entry in manifest["bundle_files"].items():
            data = zf.read(name)
            assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["size"], name
        assert set(manifest["bundle_files"]) == EXPECTED - {"manifest.json", "manifest.json.p7s"}
        assert zf.read("packet.pdf") == built.result.pdf_path.read_bytes()
        embedded = PdfReader(built.result.pdf_path).attachments
        assert zf.read("evidence/evidence.ndjson") == embedded["evidence.ndjson"][0]
        # the bundle manifest is the packet's embedded manifest plus bundle_files, and nothing else
        without = {k: v for k, v in manifest.items() if k != "bundle_files"}
        assert without == json.loads(embedded["manifest.json"][0])
        chain = zf.read("signer-chain.pem")
        assert built.signer.certificate.public_bytes(serialization.Encoding.PEM) in chain
        readme = zf.read("VERIFY.md").decode()
        assert "auditpack verify bundle.zip --trust ca.pem" in readme
        assert "openssl cms -verify -binary -inform DER -in manifest.json.p7s -content manifest.json" in readme
        assert "pdfsig packet.pdf" in readme and built.signer.fingerprint in readme


def test_openssl_verifies_the_detached_manifest_signature(built: Built, tmp_path: Path) -> None:
    root = _extract(built, tmp_path / "bundle")
    command = [
        "openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", "manifest.json.p7s",
        "-content", "manifest.json", "-CAfile", str(built.local_ca), "-purpose", "any", "-out", "/dev/null",
    ]  # fmt: skip
    ok = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and "Verification successful" in ok.stderr, ok.stderr
    stranger = tmp_path / "stranger.pem"
    stranger.write_bytes(make_ca("Someone Else CA").cert_pem())
    refused = subprocess.run(
        [*command[:-6], "-CAfile", str(stranger), "-purpose", "any", "-out", "/dev/null"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode != 0 and "Verification failure" in refused.stderr
    (root / "manifest.json").write_bytes(
        (root / "manifest.json").read_bytes().replace(b"Example Health", b"Example Wealth")
    )
    edited = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    assert edited.returncode != 0


def test_verify_file_accepts_the_bundle(built: Built) -> None:
    assert built.result.bundle_path is not None
    result = verify_file(built.result.bundle_path, trust=built.roots)
    assert result.ok, result.problems
    assert result.kind == "bundle" and result.evidence_checked == 19
    assert set(result.files_checked) == EXPECTED - {"manifest.json", "manifest.json.p7s"}


def test_private_keys_never_leave_the_key_files(built: Built, tmp_path: Path) -> None:
    keys = sorted((built.data_dir / "signing").glob("*.key.pem"))
    assert len(keys) == 2
    needles: list[bytes] = []
    for path in keys:
        assert path.stat().st_mode & 0o777 == 0o600
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        der = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        numbers = key.private_numbers()  # type: ignore[union-attr]
        secret = [
            numbers.d,
            numbers.p,
            numbers.q,
        ]  # the private parts (the modulus is public: it is in the certificate)
        needles += [der, base64.b64encode(der)[-200:-140], path.read_bytes().splitlines()[-3]]
        needles += [n.to_bytes((n.bit_length() + 7) // 8, "big")[:32] for n in secret]
        needles += [format(n, "x")[:48].encode() for n in secret]
    assert (built.data_dir / "signing").stat().st_mode & 0o777 == 0o700
    haystacks = {"packet.pdf": built.result.pdf_path.read_bytes()}
    for name, (data,) in PdfReader(built.result.pdf_path).attachments.items():
        haystacks[f"attachment {name}"] = data
    assert built.result.bundle_path is not None
    with zipfile.ZipFile(built.result.bundle_path) as zf:
        for name in zf.namelist():
            haystacks[f"bundle {name}"] = zf.read(name)
    haystacks["bundle.zip"] = built.result.bundle_path.read_bytes()
    for where, data in haystacks.items():
        for needle in needles:
            assert needle not in data, where
        assert b"PRIVATE KEY" not in data, where


def test_the_bundle_is_hashed_as_written_and_every_member_has_the_packets_time(built: Built) -> None:
    """Every member is written with its sizes known (no header rewritten afterwards), so the hash taken while the
    zip was written is the file's; members carry the packet's generation time, not the clock's."""
    assert built.result.bundle_path is not None
    data = built.result.bundle_path.read_bytes()
    assert (hashlib.sha256(data).hexdigest(), len(data)) == (built.result.bundle_sha256, built.result.bundle_size)
    with zipfile.ZipFile(built.result.bundle_path) as zf:
        assert zf.testzip() is None  # every member's CRC checks
        assert {info.date_time for info in zf.infolist()} == {(2026, 11, 20, 3, 30, 0)}
        assert {info.flag_bits & 0x08 for info in zf.infolist()} == {0}  # no data descriptors
        stored = {info.filename for info in zf.infolist() if info.compress_type == zipfile.ZIP_STORED}
        assert stored == {"packet.pdf", "manifest.json.p7s"}


def test_a_bundle_file_refuses_to_go_back(tmp_path: Path) -> None:
    out = _HashedFile(tmp_path / "b.zip")
    out.write(b"abc")
    assert out.seek(3) == 3 and out.tell() == 3
    with pytest.raises(ValueError, match="front to back"):
        out.seek(0)
    out.close()
    assert out.digest() == (hashlib.sha256(b"abc").hexdigest(), 3)
