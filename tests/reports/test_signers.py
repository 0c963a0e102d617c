"""Signers: PEM and PKCS#12 key files, an AWS KMS key (moto), and the local CA; each signs a packet that verifies."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from moto import mock_aws

from evidence.store import EvidenceStore
from reports.errors import SignerConfigError
from reports.packet import build_packet
from reports.signing import PacketSigner, load_signer, timestamper_for
from reports.verify import verify_file
from tests.reports.builders import scenario
from tests.reports.pki import NOW, issue, make_ca, write_pem_signer, write_pkcs12


def _packet(store: EvidenceStore, signer: PacketSigner, directory: Path, **extra: object) -> Path:
    data = scenario(store, buckets=4)
    result = build_packet(
        store=store,
        status=data.status,
        findings=data.findings,
        gaps=data.gaps,
        signer=signer,
        out_pdf=directory / "packet.pdf",
        packet_id="PKT-SIGNER",
        org_name="Example Corp",
        generated_by="tests",
        **extra,  # type: ignore[arg-type]
    )
    return result.pdf_path


def test_pem_key_with_chain_signs_a_trusted_packet(store: EvidenceStore, tmp_path: Path) -> None:
    ca = make_ca()
    paths = write_pem_signer(tmp_path, ca, issue(ca, "Example Corp Compliance"), password=b"s3cret")
    signer = load_signer(
        key_path=paths["key"], cert_path=paths["cert"], chain_path=paths["chain"], password="s3cret", data_dir=tmp_path
    )
    assert signer.source == "pem" and not signer.self_signed
    assert signer.identity == "Example Corp Compliance, issued by Example Corp Test Root CA"
    assert [c.subject for c in signer.chain] == [ca.cert.subject]
    assert not (tmp_path / "signing").exists()  # the local CA is not created when a key is configured
    result = verify_file(_packet(store, signer, tmp_path), trust=[paths["ca"]])
    assert result.ok, result.problems
    assert result.signer_fingerprint == signer.fingerprint


def test_pkcs12_signs_a_trusted_packet(store: EvidenceStore, tmp_path: Path) -> None:
    ca = make_ca()
    p12 = write_pkcs12(tmp_path / "signer.p12", ca, issue(ca, "Example Corp PKCS12 signer"), b"pw")
    signer = load_signer(key_path=p12, password="pw", data_dir=tmp_path)
    assert signer.source == "pkcs12" and signer.chain[0].subject == ca.cert.subject
    ca_pem = tmp_path / "ca.pem"
    ca_pem.write_bytes(ca.cert_pem())
    assert verify_file(_packet(store, signer, tmp_path), trust=[ca_pem]).ok


def test_bad_key_material_is_refused_precisely(tmp_path: Path) -> None:
    ca = make_ca()
    paths = write_pem_signer(tmp_path, ca, issue(ca, "Signer"), password=b"right")
    with pytest.raises(SignerConfigError, match="not a readable private key"):
        load_signer(key_path=paths["key"], cert_path=paths["cert"], password="wrong", data_dir=tmp_path)
    with pytest.raises(SignerConfigError, match="is encrypted: set AUDITPACK_SIGNING_KEY_PASSWORD"):
        load_signer(key_path=paths["key"], cert_path=paths["cert"], data_dir=tmp_path)
    other = issue(ca, "Someone else")
    (tmp_path / "other.pem").write_bytes(other.cert_pem())
    with pytest.raises(SignerConfigError, match="does not belong to the certificate"):
        load_signer(key_path=paths["key"], cert_path=tmp_path / "other.pem", password="right", data_dir=tmp_path)
    expired = issue(ca, "Expired", not_before=NOW - timedelta(days=30), not_after=NOW - timedelta(days=1))
    (tmp_path / "expired.key").write_bytes(expired.key_pem())
    (tmp_path / "expired.pem").write_bytes(expired.cert_pem())
    with pytest.raises(SignerConfigError, match="it is not valid now"):
        load_signer(key_path=tmp_path / "expired.key", cert_path=tmp_path / "expired.pem", data_dir=tmp_path)
    with pytest.raises(SignerConfigError, match="set AUDITPACK_SIGNING_CERT"):
        load_signer(key_path=tmp_path / "expired.key", data_dir=tmp_path)
    with pytest.raises(SignerConfigError, match="not a readable PKCS#12"):
        (tmp_path / "junk.p12").write_bytes(b"\x00\x01junk")
        load_signer(key_path=tmp_path / "junk.p12", data_dir=tmp_path)
    with pytest.raises(SignerConfigError, match="set exactly one"):
        load_signer(key_path=paths["key"], kms_key_id="alias/x", data_dir=tmp_path)
    with pytest.raises(SignerConfigError, match="no signing key configured"):
        load_signer(data_dir=tmp_path, allow_local_ca=False)


def test_local_ca_is_generated_once_and_reused(tmp_path: Path) -> None:
    first = load_signer(data_dir=tmp_path)
    second = load_signer(data_dir=tmp_path)
    assert first.self_signed and first.source == "local-ca"
    assert first.fingerprint == second.fingerprint
    assert first.trust_root == tmp_path / "signing" / "local-ca.pem"
    for name in ("local-ca.key.pem", "signer.key.pem"):
        assert (tmp_path / "signing" / name).stat().st_mode & 0o777 == 0o600
    # near expiry the signing certificate is renewed by the same CA, so older packets stay verifiable
    renewed = load_signer(data_dir=tmp_path, now=NOW + timedelta(days=720))
    assert renewed.fingerprint != first.fingerprint
    assert renewed.chain[0].subject == first.chain[0].subject
    assert renewed.chain[0] == first.chain[0]


def test_timestamper_for() -> None:
    assert timestamper_for(None) is None and timestamper_for("") is None
    assert timestamper_for("http://tsa.example.com/tsr") is not None
    with pytest.raises(SignerConfigError, match="expected an http"):
        timestamper_for("ftp://tsa.example.com")


@mock_aws
def test_kms_key_signs_a_packet_that_verifies_offline(store: EvidenceStore, tmp_path: Path) -> None:
    kms = boto3.client("kms", region_name="us-east-1")
    key_id = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY", Description="packet signing")["KeyMetadata"][
        "KeyId"
    ]
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])
    ca = make_ca("Example Corp KMS Root")
    cert = issue(ca, "Example Corp KMS signer", public_key=public)
    (tmp_path / "kms.pem").write_bytes(cert.cert_pem() + ca.cert_pem())
    (tmp_path / "ca.pem").write_bytes(ca.cert_pem())
    signer = load_signer(kms_key_id=key_id, kms_cert_path=tmp_path / "kms.pem", kms_client=kms, data_dir=tmp_path)
    assert signer.source == "kms" and signer.digest_algorithm == "sha256"
    pdf = _packet(store, signer, tmp_path)
    assert signer.signer.sign_calls == 1  # type: ignore[attr-defined]  - the dry run never reaches KMS
    result = verify_file(pdf, trust=[tmp_path / "ca.pem"])
    assert result.ok, result.problems
    assert result.signer_fingerprint == signer.fingerprint

    wrong = issue(ca, "Not the KMS key")
    (tmp_path / "wrong.pem").write_bytes(wrong.cert_pem())
    with pytest.raises(SignerConfigError, match="holds this key's public key"):
        load_signer(kms_key_id=key_id, kms_cert_path=tmp_path / "wrong.pem", kms_client=kms, data_dir=tmp_path)
    encrypt_key = kms.create_key(KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    with pytest.raises(SignerConfigError, match="expected SIGN_VERIFY"):
        load_signer(kms_key_id=encrypt_key, kms_cert_path=tmp_path / "kms.pem", kms_client=kms, data_dir=tmp_path)
    with pytest.raises(SignerConfigError, match="has no certificate"):
        load_signer(kms_key_id=key_id, kms_client=kms, data_dir=tmp_path)


@pytest.mark.parametrize("kind", ["rsa", "rsa-pss", "ec", "ed25519"])
def test_signatures_use_the_key_loaded_once_and_are_what_pyhanko_makes(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyHanko parses the DER key again per signature (OpenSSL 3 then re-checks an RSA key, ~0.1 s): the signer keeps
    the key it loaded, and signs as pyHanko's own SimpleSigner would (the same bytes where the scheme is
    deterministic, a signature the public key verifies where it is not)."""
    from asn1crypto import keys as asn1_keys
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
    from pyhanko.sign.signers import SimpleSigner
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    from reports.certs import to_asn1
    from reports.signing import _simple_signer

    ca = make_ca()
    key: Any = {
        "ec": lambda: ec.generate_private_key(ec.SECP256R1()),
        "ed25519": ed25519.Ed25519PrivateKey.generate,
    }.get(kind, lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048))()
    cert = issue(ca, f"{kind} signer", public_key=key.public_key()).cert
    signer = _simple_signer(key, cert, [ca.cert], "test")
    signer.prefer_pss = kind == "rsa-pss"
    pkcs8 = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    reference = SimpleSigner(
        signing_cert=to_asn1(cert),
        signing_key=asn1_keys.PrivateKeyInfo.load(pkcs8),
        cert_registry=SimpleCertificateStore(),
        prefer_pss=kind == "rsa-pss",
    )
    data = b"the bytes a packet signs"
    expected = reference.sign_raw(data, "sha256")

    def reparsed(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the key was parsed again to sign")

    monkeypatch.setattr("pyhanko.sign.signers.pdf_cms.serialization.load_der_private_key", reparsed)
    made = signer.sign_raw(data, "sha256")
    public = key.public_key()
    if kind in ("rsa", "ed25519"):  # deterministic schemes
        assert made == expected
    if kind == "rsa-pss":
        assert signer.get_signature_mechanism_for_digest("sha256").signature_algo == "rsassa_pss"
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
        public.verify(made, data, pss, hashes.SHA256())
    elif kind == "ec":
        public.verify(made, data, ec.ECDSA(hashes.SHA256()))
    elif kind == "ed25519":
        public.verify(made, data)
    else:
        public.verify(made, data, padding.PKCS1v15(), hashes.SHA256())
