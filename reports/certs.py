"""Certificate helpers shared by signing and verification: load PEM/DER files, name and fingerprint a certificate."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from reports.errors import SignerConfigError

PEM_MARKER = b"-----BEGIN CERTIFICATE-----"


def read_file(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SignerConfigError(f"{what} {path}: cannot be read ({exc.strerror or exc})") from None


def load_certificates(path: Path, what: str = "certificate file") -> list[x509.Certificate]:
    """Every certificate in a PEM file (one or many) or a single DER certificate."""
    data = read_file(path, what)
    try:
        certs = x509.load_pem_x509_certificates(data) if PEM_MARKER in data else [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise SignerConfigError(
            f"{what} {path}: not a PEM or DER X.509 certificate ({exc})",
            hint="expected a file starting with '-----BEGIN CERTIFICATE-----' or a DER certificate",
        ) from None
    if not certs:
        raise SignerConfigError(f"{what} {path}: contains no certificate")
    return certs


def to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


def from_asn1(cert: asn1_x509.Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(cert.dump())


def fingerprint(cert: x509.Certificate | asn1_x509.Certificate) -> str:
    """SHA-256 of the certificate's DER encoding, lower-case hex."""
    der = cert.dump() if isinstance(cert, asn1_x509.Certificate) else cert.public_bytes(Encoding.DER)
    return hashlib.sha256(der).hexdigest()


def _attr(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else None


def display_name(name: x509.Name) -> str:
    """'Common Name (Organisation)' or the RFC 4514 form when there is no common name."""
    common = _attr(name, NameOID.COMMON_NAME)
    org = _attr(name, NameOID.ORGANIZATION_NAME)
    if common and org and org not in common:
        return f"{common} ({org})"
    return common or org or name.rfc4514_string()


def identity(cert: x509.Certificate) -> str:
    """A human-readable signer identity: subject, and issuer when it is someone else."""
    subject = display_name(cert.subject)
    if cert.issuer == cert.subject:
        return f"{subject}, self-signed"
    return f"{subject}, issued by {display_name(cert.issuer)}"


def is_self_issued(cert: x509.Certificate) -> bool:
    return cert.issuer == cert.subject


def chain_pem(certs: Iterable[x509.Certificate]) -> bytes:
    return b"".join(cert.public_bytes(Encoding.PEM) for cert in certs)
