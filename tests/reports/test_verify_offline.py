"""Verification is offline and strict about time-stamps: it never opens a connection, even for a signer whose
certificate names an OCSP responder and a CRL, and an intact time-stamp token with a bad signature fails."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

from reports.pades import sign_pdf
from reports.signing import PacketSigner, load_signer
from reports.verify import verify_file
from tests.reports.conftest import Built
from tests.reports.pdfedit import unsigned
from tests.reports.pki import issue, make_ca, write_pem_signer


def _sign(built: Built, path: Path, signer: PacketSigner, timestamper: DummyTimeStamper | None = None) -> Path:
    with path.open("wb") as out:
        sign_pdf(unsigned(built), signer, out, location="Example Health Ltd", timestamper=timestamper)
    return path


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every name lookup or connection attempt is recorded and refused."""
    attempts: list[str] = []

    def refuse(what: str):  # type: ignore[no-untyped-def]
        def call(*args: object, **kwargs: object) -> None:
            attempts.append(f"{what}{args[-2:] if what == 'connect' else args[:2]}")
            raise OSError(f"network blocked in this test: {what}")

        return call

    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("connect_ex"))
    return attempts


def test_a_signer_with_revocation_urls_is_verified_without_any_connection(
    built: Built, tmp_path: Path, no_network: list[str]
) -> None:
    ca = make_ca("Example Corp Issuing CA")
    leaf = issue(ca, "Example Corp Compliance", revocation_url="http://pki.example.com")
    paths = write_pem_signer(tmp_path, ca, leaf)
    signer = load_signer(key_path=paths["key"], cert_path=paths["cert"], chain_path=paths["chain"], data_dir=tmp_path)
    pdf = _sign(built, tmp_path / "revocable.pdf", signer)
    result = verify_file(pdf, trust=[paths["ca"]])
    assert no_network == []
    assert result.ok, result.problems
    assert result.signer_fingerprint == signer.fingerprint


def test_an_intact_time_stamp_token_with_a_bad_signature(built: Built, tmp_path: Path) -> None:
    # the token's certificate is not the key that signed it: the imprint matches, the signature value does not
    certificate = issue(built.tsa_root, "Example Corp Test TSA", timestamping=True)
    other_key = issue(built.tsa_root, "Example Corp Other TSA", timestamping=True)
    stamper = DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(certificate.cert.public_bytes(serialization.Encoding.DER)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(other_key.key_der()),
    )
    result = verify_file(_sign(built, tmp_path / "bad-stamp.pdf", built.signer, stamper), trust=built.roots)
    assert (result.intact, result.valid, result.trusted) == (True, True, True)
    assert result.problems == ("the signature's time-stamp token is not intact or not valid",)
    assert result.timestamp is not None and not result.ok
