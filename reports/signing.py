"""Who signs packets: a PKCS#12 or PEM key with its certificate chain, an AWS KMS key, or (first use and the demo
only) a local CA generated into the data directory.

`load_signer` picks one from the configuration and checks it before any packet is built: the key matches the
certificate, the certificate is valid now and allowed to sign. Private key material stays inside the pyHanko
signer; nothing here logs or returns it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_der_private_key,
    load_pem_private_key,
    pkcs12,
)
from pyhanko.sign.signers import Signer, SimpleSigner
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash, process_pss_params

from reports.certs import chain_pem, fingerprint, identity, is_self_issued, load_certificates, read_file, to_asn1
from reports.errors import SignerConfigError
from reports.kms import kms_signer
from reports.localca import ensure_local_ca


@dataclass(frozen=True, eq=False)
class PacketSigner:
    """A ready-to-use signer: the pyHanko `Signer`, its certificate chain and how to present it.

    signer: the pyHanko signer (holds the key, or calls KMS).
    certificate: the signer's own certificate.
    chain: the certificates above it that we know of (intermediates, root), nearest first.
    identity: human-readable subject and issuer, printed on the cover.
    fingerprint: SHA-256 of the signer certificate's DER, lower-case hex.
    self_signed: the signature chains only to a locally generated CA (or a self-issued certificate): the CLI
        warns and the cover says so.
    source: "pkcs12", "pem", "kms" or "local-ca".
    digest_algorithm: the digest the signer uses (KMS keys fix it; sha256 otherwise).
    trust_root: the CA certificate to trust when it is known locally (the local CA), for convenience in tests
        and the demo.
    """

    signer: Signer
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    identity: str
    fingerprint: str
    self_signed: bool
    source: str
    digest_algorithm: str = "sha256"
    trust_root: Path | None = field(default=None)

    def chain_pem(self) -> bytes:
        """The signer certificate followed by its chain, PEM (what `signer-chain.pem` holds)."""
        return chain_pem((self.certificate, *self.chain))


def _check_certificate(cert: x509.Certificate, where: str, now: datetime) -> None:
    if cert.not_valid_before_utc > now or cert.not_valid_after_utc <= now:
        raise SignerConfigError(
            f"{where}: the signing certificate is valid from {cert.not_valid_before_utc:%Y-%m-%d %H:%M} to "
            f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC; it is not valid now ({now:%Y-%m-%d %H:%M} UTC)"
        )
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    if not (usage.digital_signature or usage.content_commitment):
        raise SignerConfigError(
            f"{where}: the certificate's key usage allows neither digitalSignature nor nonRepudiation; "
            "a document-signing certificate needs one of them"
        )


def _public_der(key: Any) -> bytes:
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


class _KeptKeySigner(SimpleSigner):
    """pyHanko's SimpleSigner, signing with the key object loaded once. pyHanko parses the DER key again for every
    signature, and OpenSSL 3 checks an RSA key's consistency on every parse: ~0.1 s for a 3072-bit key, twice per
    packet (the PDF and the bundle's manifest), in the build's single-threaded end (issue 18). The key was checked
    when it was loaded; a mechanism not handled here is left to pyHanko."""

    def __init__(self, *, key: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._key = key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        try:  # as pyHanko reads it
            name = mechanism.signature_algo
        except ValueError:
            name = mechanism["algorithm"].native
        key = self._key
        if name == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if name == "rsassa_pss" and isinstance(key, rsa.RSAPrivateKey):
            padding, hash_algorithm = process_pss_params(mechanism["parameters"])
            return key.sign(data, padding, hash_algorithm)
        if name == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        if name == "ed25519" and isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(data)
        return super().sign_raw(data, digest_algorithm)


def _simple_signer(key: Any, cert: x509.Certificate, chain: Sequence[x509.Certificate], where: str) -> SimpleSigner:
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        raise SignerConfigError(f"{where}: unsupported key type {type(key).__name__}; expected RSA, EC or Ed25519")
    if _public_der(key.public_key()) != _public_der(cert.public_key()):
        raise SignerConfigError(f"{where}: the private key does not belong to the certificate {identity(cert)!r}")
    pkcs8 = key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    return _KeptKeySigner(
        key=key,
        signing_cert=to_asn1(cert),
        signing_key=asn1_keys.PrivateKeyInfo.load(pkcs8),
        cert_registry=SimpleCertificateStore.from_certs([to_asn1(c) for c in chain]),
    )


def _password(password: str | bytes | None) -> bytes | None:
    if password is None or password == "":
        return None
    return password.encode("utf-8") if isinstance(password, str) else password


def _load_private_key(data: bytes, password: bytes | None, where: str) -> Any:
    loader = load_pem_private_key if b"-----BEGIN" in data else load_der_private_key
    try:
        return loader(data, password=password)
    except TypeError:  # cryptography: "Password was not given but private key is encrypted" or the reverse
        wanted = "is encrypted: set AUDITPACK_SIGNING_KEY_PASSWORD" if password is None else "is not encrypted"
        raise SignerConfigError(f"{where}: the private key {wanted}") from None
    except ValueError:
        raise SignerConfigError(
            f"{where}: not a readable private key (wrong password, or not PEM/DER PKCS#8, PKCS#1 or SEC1)"
        ) from None


def _order_chain(cert: x509.Certificate, others: Sequence[x509.Certificate]) -> tuple[x509.Certificate, ...]:
    """The issuers of `cert` from `others`, nearest first; certificates not on the path are kept at the end."""
    remaining = [c for c in others if c != cert]
    ordered: list[x509.Certificate] = []
    current = cert
    while not is_self_issued(current):
        issuer = next((c for c in remaining if c.subject == current.issuer), None)
        if issuer is None:
            break
        ordered.append(issuer)
        remaining.remove(issuer)
        current = issuer
    return (*ordered, *remaining)


def _from_pkcs12(data: bytes, password: bytes | None, extra: list[x509.Certificate], where: str) -> PacketSigner:
    try:
        bundle = pkcs12.load_pkcs12(data, password)
    except ValueError:
        raise SignerConfigError(f"{where}: not a readable PKCS#12 file (wrong password, or not PKCS#12)") from None
    if bundle.key is None or bundle.cert is None:
        raise SignerConfigError(f"{where}: the PKCS#12 file must hold a private key and its certificate")
    cert = bundle.cert.certificate
    chain = _order_chain(cert, [c.certificate for c in bundle.additional_certs] + extra)
    return _packet_signer(_simple_signer(bundle.key, cert, chain, where), cert, chain, "pkcs12")


def _packet_signer(
    signer: Signer,
    cert: x509.Certificate,
    chain: tuple[x509.Certificate, ...],
    source: str,
    *,
    self_signed: bool | None = None,
    digest_algorithm: str = "sha256",
    trust_root: Path | None = None,
) -> PacketSigner:
    return PacketSigner(
        signer=signer,
        certificate=cert,
        chain=chain,
        identity=identity(cert),
        fingerprint=fingerprint(cert),
        self_signed=is_self_issued(cert) if self_signed is None else self_signed,
        source=source,
        digest_algorithm=digest_algorithm,
        trust_root=trust_root,
    )


def load_signer(
    *,
    key_path: Path | None = None,
    cert_path: Path | None = None,
    chain_path: Path | None = None,
    password: str | bytes | None = None,
    kms_key_id: str | None = None,
    kms_cert_path: Path | None = None,
    kms_client: Any = None,
    data_dir: Path,
    allow_local_ca: bool = True,
    now: datetime | None = None,
) -> PacketSigner:
    """Pick and check the signer: KMS key, else PKCS#12/PEM key, else (if allowed) the local CA in `data_dir`.

    Raises `SignerConfigError` (exit code 2) naming the setting that is wrong and what was expected.
    """
    now = now or datetime.now(UTC)
    if kms_key_id and key_path:
        raise SignerConfigError(
            "both a KMS key (AUDITPACK_SIGNING_KMS_KEY_ID) and a key file (AUDITPACK_SIGNING_KEY) are configured; "
            "set exactly one"
        )
    extra = load_certificates(chain_path, "AUDITPACK_SIGNING_CHAIN") if chain_path else []
    if kms_key_id:
        if kms_cert_path is None:
            raise SignerConfigError(
                f"KMS key {kms_key_id} has no certificate: set AUDITPACK_SIGNING_KMS_CERT to the PEM certificate "
                "issued for the key (followed by its chain)"
            )
        if kms_client is None:
            import boto3  # only the KMS path needs it; the standard credential chain applies

            kms_client = boto3.client("kms")
        certs = load_certificates(kms_cert_path, "AUDITPACK_SIGNING_KMS_CERT") + extra
        signer, cert = kms_signer(kms_client, kms_key_id, certs)
        _check_certificate(cert, f"AUDITPACK_SIGNING_KMS_CERT {kms_cert_path}", now)
        chain = _order_chain(cert, [c for c in certs if c is not cert])
        return _packet_signer(signer, cert, chain, "kms", digest_algorithm=signer.algorithm.digest)
    if key_path:
        where = f"AUDITPACK_SIGNING_KEY {key_path}"
        data = read_file(key_path, "AUDITPACK_SIGNING_KEY")
        if b"-----BEGIN" not in data and cert_path is None:  # binary and alone: PKCS#12 (key + certificate)
            packet = _from_pkcs12(data, _password(password), extra, where)
            _check_certificate(packet.certificate, where, now)
            return packet
        if cert_path is None:
            raise SignerConfigError(
                f"{where} is a PEM/DER private key: set AUDITPACK_SIGNING_CERT to its certificate "
                "(or use a PKCS#12 file holding both)"
            )
        key = _load_private_key(data, _password(password), where)
        certs = load_certificates(cert_path, "AUDITPACK_SIGNING_CERT")
        cert = certs[0]
        _check_certificate(cert, f"AUDITPACK_SIGNING_CERT {cert_path}", now)
        chain = _order_chain(cert, certs[1:] + extra)
        return _packet_signer(_simple_signer(key, cert, chain, where), cert, chain, "pem")
    if not allow_local_ca:
        raise SignerConfigError(
            "no signing key configured",
            hint="set AUDITPACK_SIGNING_KEY (PKCS#12, or PEM with AUDITPACK_SIGNING_CERT) or "
            "AUDITPACK_SIGNING_KMS_KEY_ID with AUDITPACK_SIGNING_KMS_CERT",
        )
    files = ensure_local_ca(data_dir, now=now)
    key = _load_private_key(files.signer_key.read_bytes(), None, str(files.signer_key))
    cert = load_certificates(files.signer_cert)[0]
    ca = load_certificates(files.ca_cert)
    chain = _order_chain(cert, ca)
    signer = _simple_signer(key, cert, chain, str(files.signer_key))
    return _packet_signer(signer, cert, chain, "local-ca", self_signed=True, trust_root=files.ca_cert)


def timestamper_for(tsa_url: str | None) -> TimeStamper | None:
    """An RFC 3161 time-stamping client for `tsa_url` (PAdES B-T), or None when no TSA is configured."""
    if not tsa_url:
        return None
    if not tsa_url.startswith(("http://", "https://")):
        raise SignerConfigError(f"AUDITPACK_TSA_URL {tsa_url!r}: expected an http:// or https:// URL")
    return HTTPTimeStamper(tsa_url)
