"""A small test PKI: a root CA, leaf certificates for signing and time-stamping, written as PEM or PKCS#12."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

NOW = datetime.now(UTC)


@dataclass
class Issued:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self, password: bytes | None = None) -> bytes:
        encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)

    def key_der(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def _name(common: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Corp"), x509.NameAttribute(NameOID.COMMON_NAME, common)]
    )


def make_ca(common: str = "Example Corp Test Root CA") -> Issued:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common))
        .issuer_name(_name(common))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(key, cert)


def issue(
    ca: Issued,
    common: str,
    *,
    public_key: object | None = None,
    timestamping: bool = False,
    not_after: datetime | None = None,
    not_before: datetime | None = None,
    revocation_url: str | None = None,
) -> Issued:
    """A leaf certificate from `ca`, for a new key (or for `public_key`, e.g. a KMS key's); with `revocation_url`
    it names an OCSP responder, a CRL and the issuer's certificate there, as public CAs' certificates do."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    eku = [ExtendedKeyUsageOID.TIME_STAMPING] if timestamping else [ExtendedKeyUsageOID.EMAIL_PROTECTION]
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common))
        .issuer_name(ca.cert.subject)
        .public_key(public_key or key.public_key())  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or NOW - timedelta(days=1))
        .not_valid_after(not_after or NOW + timedelta(days=90))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(eku), critical=timestamping)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    if revocation_url:
        builder = builder.add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(f"{revocation_url}/ocsp")
                    ),
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(f"{revocation_url}/ca.crt"),
                    ),
                ]
            ),
            critical=False,
        ).add_extension(
            x509.CRLDistributionPoints(
                [x509.DistributionPoint([x509.UniformResourceIdentifier(f"{revocation_url}/ca.crl")], None, None, None)]
            ),
            critical=False,
        )
    return Issued(key, builder.sign(ca.key, hashes.SHA256()))


def write_pem_signer(directory: Path, ca: Issued, leaf: Issued, password: bytes | None = None) -> dict[str, Path]:
    paths = {
        "key": directory / "signer.key.pem",
        "cert": directory / "signer.pem",
        "chain": directory / "chain.pem",
        "ca": directory / "ca.pem",
    }
    paths["key"].write_bytes(leaf.key_pem(password))
    paths["cert"].write_bytes(leaf.cert_pem())
    paths["chain"].write_bytes(ca.cert_pem())
    paths["ca"].write_bytes(ca.cert_pem())
    return paths


def write_pkcs12(path: Path, ca: Issued, leaf: Issued, password: bytes) -> Path:
    data = pkcs12.serialize_key_and_certificates(
        b"signer", leaf.key, leaf.cert, [ca.cert], serialization.BestAvailableEncryption(password)
    )
    path.write_bytes(data)
    return path


def dummy_timestamper(ca: Issued) -> DummyTimeStamper:
    """pyHanko's offline RFC 3161 responder, with a TSA certificate from `ca` (timeStamping EKU)."""
    tsa = issue(ca, "Example Corp Test TSA", timestamping=True)
    return DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(tsa.cert.public_bytes(serialization.Encoding.DER)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(tsa.key_der()),
    )
