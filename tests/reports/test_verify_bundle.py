"""`verify_file` on bundles a signer could produce wrongly, or a forger with another key: the manifest is re-signed
with a real key (pyHanko CMS), so only the check under test can catch the difference."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

from asn1crypto import cms
from cryptography import x509

from reports.manifest import bundle_prefix
from reports.pades import sign_detached
from reports.signing import PacketSigner, load_signer
from reports.verify import PacketVerification, verify_file
from tests.reports.conftest import Built

FORMAT_KEY = b'"format":"auditpack-manifest/1",'


def _members(built: Built) -> dict[str, bytes]:
    assert built.result.bundle_path is not None
    with zipfile.ZipFile(built.result.bundle_path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _files(built: Built) -> dict[str, dict[str, object]]:
    return json.loads(_members(built)["manifest.json"])["bundle_files"]


def _rest(built: Built) -> bytes:
    """The bundle manifest after its bundle_files entry: the packet's manifest minus its opening brace."""
    manifest = _members(built)["manifest.json"]
    return manifest[len(bundle_prefix(_files(built))) :]


def _entry(data: bytes) -> dict[str, object]:
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def _write(
    built: Built,
    path: Path,
    *,
    replace: dict[str, bytes | None] | None = None,
    manifest: bytes | None = None,
    signer: PacketSigner | None = None,
) -> Path:
    """The bundle with members replaced (None drops one) and, given a manifest, that manifest signed by `signer`."""
    members = _members(built)
    members.update(replace or {})
    if manifest is not None:
        members["manifest.json"] = manifest
        members["manifest.json.p7s"] = sign_detached(io.BytesIO(manifest), signer or built.signer)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in members.items():
            if data is not None:
                out.writestr(name, data)
    return path


def _verify(built: Built, path: Path) -> PacketVerification:
    return verify_file(path, trust=built.roots)


def test_a_manifest_that_does_not_start_with_bundle_files(built: Built, tmp_path: Path) -> None:
    rest = _rest(built)
    assert rest.startswith(FORMAT_KEY)
    files = json.dumps(_files(built), separators=(",", ":")).encode()
    reordered = b"{" + FORMAT_KEY + b'"bundle_files":' + files + b"," + rest[len(FORMAT_KEY) :]
    assert json.loads(reordered) == json.loads(_members(built)["manifest.json"])  # the same JSON, other bytes
    result = _verify(built, _write(built, tmp_path / "reordered.zip", manifest=reordered))
    assert result.problems == ("manifest.json does not start with its bundle_files entry as auditpack writes it",)
    assert (result.intact, result.valid, result.trusted, result.ok) == (True, True, True, False)


def test_evidence_that_is_not_the_packets(built: Built, tmp_path: Path) -> None:
    original = _members(built)["evidence/evidence.ndjson"]
    other = b"".join(original.splitlines(keepends=True)[1:])
    files = {**_files(built), "evidence/evidence.ndjson": _entry(other)}
    path = _write(
        built,
        tmp_path / "other-evidence.zip",
        replace={"evidence/evidence.ndjson": other},
        manifest=bundle_prefix(files) + _rest(built),
    )
    result = _verify(built, path)
    assert result.problems == (
        f"evidence/evidence.ndjson (sha256 {hashlib.sha256(other).hexdigest()}) is not the evidence.ndjson "
        f"embedded in the packet ({hashlib.sha256(original).hexdigest()})",
    )


def test_a_manifest_without_bundle_files(built: Built, tmp_path: Path) -> None:
    result = _verify(built, _write(built, tmp_path / "no-files.zip", manifest=b"{" + _rest(built)))
    assert result.problems == (
        "manifest.json has no 'bundle_files'; expected the hash of every file in the bundle",
        "manifest.json does not start with its bundle_files entry as auditpack writes it",
    )


def test_a_bundle_file_left_out_of_bundle_files(built: Built, tmp_path: Path) -> None:
    files = {name: entry for name, entry in _files(built).items() if name != "VERIFY.md"}
    path = _write(
        built, tmp_path / "no-readme.zip", replace={"VERIFY.md": None}, manifest=bundle_prefix(files) + _rest(built)
    )
    result = _verify(built, path)
    assert result.problems == ("manifest.json does not list VERIFY.md; expected every bundle file",)


def test_a_manifest_whose_evidence_array_does_not_close(built: Built, tmp_path: Path) -> None:
    manifest = _members(built)["manifest.json"]
    assert manifest.endswith(b"\n]}\n")
    result = _verify(built, _write(built, tmp_path / "tail.zip", manifest=manifest[:-2] + b"}x\n"))
    assert result.problems == (
        "manifest.json: not a valid manifest (found '}x' after the evidence array; expected '}' and the end)",
        "manifest.json describes different evidence than the manifest embedded in packet.pdf",
    )


def test_a_manifest_signed_by_someone_else(built: Built, tmp_path: Path) -> None:
    stranger = load_signer(data_dir=tmp_path / "stranger")
    path = _write(built, tmp_path / "stranger.zip", manifest=_members(built)["manifest.json"], signer=stranger)
    result = _verify(built, path)
    assert result.problems == (
        "manifest.json.p7s: the manifest's signer does not chain to a trusted root",
        f"manifest.json.p7s: signed by certificate {stranger.fingerprint[:16]}…, but packet.pdf by "
        f"{built.signer.fingerprint[:16]}…",
    )
    assert (result.intact, result.valid, result.trusted) == (True, True, False)


def test_a_manifest_changed_after_signing(built: Built, tmp_path: Path) -> None:
    manifest = _members(built)["manifest.json"].replace(b"Example Health", b"Example Wealth", 1)
    result = _verify(built, _write(built, tmp_path / "edited.zip", replace={"manifest.json": manifest}))
    assert "manifest.json.p7s: the signed digest does not match manifest.json (the manifest was changed)" in (
        result.problems
    )
    assert not any("signature value is not valid" in p for p in result.problems)
    # the packet PDF is intact and the CMS signature value sound, but the manifest is not what was signed
    assert (result.intact, result.valid) == (False, True)


def test_a_manifest_signature_with_a_broken_value(built: Built, tmp_path: Path) -> None:
    signature = _members(built)["manifest.json.p7s"]
    value = cms.ContentInfo.load(signature)["content"]["signer_infos"][0]["signature"].native
    at = signature.index(value) + 10
    broken = signature[:at] + bytes([signature[at] ^ 0x01]) + signature[at + 1 :]
    result = _verify(built, _write(built, tmp_path / "value.zip", replace={"manifest.json.p7s": broken}))
    assert "manifest.json.p7s: the signature value is not valid for its certificate" in result.problems
    assert not any("signed digest does not match" in p for p in result.problems)
    assert (result.intact, result.valid) == (True, False)


def test_a_signature_file_that_is_not_signed_data(built: Built, tmp_path: Path) -> None:
    data = cms.ContentInfo({"content_type": "data", "content": b"trust me"}).dump()
    result = _verify(built, _write(built, tmp_path / "data.zip", replace={"manifest.json.p7s": data}))
    assert result.problems == ("manifest.json.p7s: not a CMS SignedData structure (content type is data)",)
    assert (result.intact, result.valid, result.trusted) == (False, False, False)
    garbage = _verify(built, _write(built, tmp_path / "junk.zip", replace={"manifest.json.p7s": b"\x30\x03junk"}))
    assert len(garbage.problems) == 1
    assert garbage.problems[0].startswith("manifest.json.p7s: not a CMS SignedData structure (")


def test_a_bundle_without_its_packet(built: Built, tmp_path: Path) -> None:
    result = _verify(built, _write(built, tmp_path / "no-pdf.zip", replace={"packet.pdf": None}))
    sha256 = _files(built)["packet.pdf"]["sha256"]
    assert result.problems == (
        "packet.pdf is missing from the bundle; expected it beside VERIFY.md, evidence/evidence.ndjson, "
        "findings.csv, manifest.json, manifest.json.p7s",
        f"packet.pdf is listed in manifest.json (sha256 {sha256}) but missing from the bundle",
    )


def test_a_bundle_checked_without_trust_roots(built: Built) -> None:
    assert built.result.bundle_path is not None
    result = verify_file(built.result.bundle_path)
    assert result.problems == (
        "packet.pdf: signer is not trusted: no trust root was given (use --trust CA.pem)",
        "manifest.json.p7s: the manifest's signer does not chain to a trusted root",
    )
    assert (result.intact, result.valid, result.trusted) == (True, True, False)


def test_trust_roots_given_as_certificates(built: Built) -> None:
    roots = [x509.load_pem_x509_certificate(path.read_bytes()) for path in built.roots]
    assert built.result.bundle_path is not None
    assert verify_file(built.result.bundle_path, trust=roots).ok
