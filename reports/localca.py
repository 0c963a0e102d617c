"""The local CA for first use and the demo: a CA and a signing certificate generated once into the data directory.

Packets signed this way are marked self-signed (CLI warning, cover notice): only someone who holds the CA
certificate (`signing/local-ca.pem`) and chooses to trust it can verify them as trusted. Private keys are written
with mode 0600 into a directory of mode 0700; the whole set appears atomically (built in a temporary directory and
renamed), so two processes starting at once end up with the same CA.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from reports.errors import SignerConfigError

SIGNING_DIR = "signing"
CA_CERT = "local-ca.pem"
CA_KEY = "local-ca.key.pem"
SIGNER_CERT = "signer.pem"
SIGNER_KEY = "signer.key.pem"
KEY_BITS = 3072
CA_VALIDITY = timedelta(days=3650)
SIGNER_VALIDITY = timedelta(days=730)
RENEW_BEFORE = timedelta(days=30)
DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")  # id-kp-documentSigning (RFC 9336)


@dataclass(frozen=True, slots=True)
class LocalCaFiles:
    directory: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / CA_CERT

    @property
    def ca_key(self) -> Path:
        return self.directory / CA_KEY

    @property
    def signer_cert(self) -> Path:
        return self.directory / SIGNER_CERT

    @property
    def signer_key(self) -> Path:
        return self.directory / SIGNER_KEY


def local_ca_certificate(data_dir: Path) -> Path | None:
    """The local CA certificate in `data_dir`, if one was generated (a trust root for `auditpack verify`)."""
    path = LocalCaFiles(data_dir / SIGNING_DIR).ca_cert
    return path if path.is_file() else None


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _ca(now: datetime) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "auditpack"),
            x509.NameAttribute(NameOID.COMMON_NAME, "auditpack local CA (self-signed, demo only)"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def issue_signer(
    ca_key: rsa.RSAPrivateKey, ca_cert: x509.Certificate, now: datetime
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A document-signing certificate: digitalSignature + nonRepudiation, emailProtection and documentSigning EKUs
    (poppler's pdfsig checks the first, RFC 9336 names the second)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "auditpack"),
            x509.NameAttribute(NameOID.COMMON_NAME, "auditpack local packet signer"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(min(now + SIGNER_VALIDITY, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, DOCUMENT_SIGNING]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _generate(directory: Path, now: datetime) -> None:
    ca_key, ca_cert = _ca(now)
    signer_key, signer_cert = issue_signer(ca_key, ca_cert, now)
    files = LocalCaFiles(directory)
    _write_private(files.ca_key, _key_pem(ca_key))
    _write_private(files.signer_key, _key_pem(signer_key))
    files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.signer_cert.write_bytes(signer_cert.public_bytes(serialization.Encoding.PEM))


def _renew_signer(files: LocalCaFiles, now: datetime) -> None:
    """Replace an expiring signer certificate, keeping the CA (so earlier packets stay verifiable)."""
    ca_key = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    if not isinstance(ca_key, rsa.RSAPrivateKey):
        raise SignerConfigError(f"{files.ca_key}: expected the local CA's RSA key")
    key, cert = issue_signer(ca_key, ca_cert, now)
    staging = Path(tempfile.mkdtemp(prefix=".renew-", dir=files.directory))
    try:
        _write_private(staging / SIGNER_KEY, _key_pem(key))
        (staging / SIGNER_CERT).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (staging / SIGNER_KEY).replace(files.signer_key)
        (staging / SIGNER_CERT).replace(files.signer_cert)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def ensure_local_ca(data_dir: Path, *, now: datetime | None = None) -> LocalCaFiles:
    """Return the local CA files in `data_dir`, generating them on first use and renewing an expiring signer."""
    now = now or datetime.now(UTC)
    files = LocalCaFiles(data_dir / SIGNING_DIR)
    if not files.signer_cert.is_file():
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".signing-", dir=data_dir))
        except OSError as exc:
            raise SignerConfigError(f"cannot create the local CA in {data_dir}: {exc.strerror or exc}") from None
        try:
            _generate(staging, now)
            staging.chmod(0o700)
            try:
                staging.rename(files.directory)
            except OSError:
                if not files.signer_cert.is_file():  # not a concurrent first use: a real failure
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    cert = x509.load_pem_x509_certificate(files.signer_cert.read_bytes())
    if cert.not_valid_after_utc - RENEW_BEFORE <= now:
        _renew_signer(files, now)
    return files
