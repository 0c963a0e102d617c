"""A pyHanko signer whose private key stays in AWS KMS: the raw signature comes from `kms:Sign`.

pyHanko hands `async_sign_raw` the DER-encoded CMS signed attributes; KMS signs them with `MessageType=RAW` (KMS
hashes them itself). `MessageType=DIGEST` would also be correct on AWS, but moto's KMS hashes the digest again, so
RAW is the one path that verifies everywhere. The RAW message limit (4,096 bytes) is far above the size of signed
attributes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from asn1crypto import algos
from asn1crypto import x509 as asn1_x509
from botocore.exceptions import BotoCoreError, ClientError
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pyhanko.sign.signers import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore

from reports.errors import SignerConfigError


@dataclass(frozen=True, slots=True)
class KmsAlgorithm:
    kms_name: str  # SigningAlgorithm for kms:Sign
    digest: str  # pyHanko digest name
    mechanism: str  # pyHanko SignedDigestAlgorithm name
    max_signature_bytes: int  # for dry runs: pyHanko reserves space before the real signature exists


# KeySpec -> how to sign with it. RSA uses PKCS#1 v1.5 (what PDF validators accept most widely).
KMS_ALGORITHMS: dict[str, KmsAlgorithm] = {
    "RSA_2048": KmsAlgorithm("RSASSA_PKCS1_V1_5_SHA_256", "sha256", "sha256_rsa", 256),
    "RSA_3072": KmsAlgorithm("RSASSA_PKCS1_V1_5_SHA_256", "sha256", "sha256_rsa", 384),
    "RSA_4096": KmsAlgorithm("RSASSA_PKCS1_V1_5_SHA_512", "sha512", "sha512_rsa", 512),
    "ECC_NIST_P256": KmsAlgorithm("ECDSA_SHA_256", "sha256", "sha256_ecdsa", 72),
    "ECC_NIST_P384": KmsAlgorithm("ECDSA_SHA_384", "sha384", "sha384_ecdsa", 104),
    "ECC_NIST_P521": KmsAlgorithm("ECDSA_SHA_512", "sha512", "sha512_ecdsa", 139),
}


class KmsSigner(Signer):
    """Signs with an asymmetric KMS key (KeyUsage SIGN_VERIFY) whose certificate the caller supplies."""

    def __init__(
        self,
        *,
        client: Any,
        key_id: str,
        algorithm: KmsAlgorithm,
        signing_cert: asn1_x509.Certificate,
        other_certs: list[asn1_x509.Certificate],
    ) -> None:
        super().__init__(
            signing_cert=signing_cert,
            cert_registry=SimpleCertificateStore.from_certs(other_certs),
            signature_mechanism=algos.SignedDigestAlgorithm({"algorithm": algorithm.mechanism}),
        )
        self._client = client
        self.key_id = key_id
        self.algorithm = algorithm
        self.sign_calls = 0

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if dry_run:
            return bytes(self.algorithm.max_signature_bytes)
        if digest_algorithm != self.algorithm.digest:
            raise SignerConfigError(
                f"KMS key {self.key_id} signs with {self.algorithm.kms_name}; pyHanko asked for {digest_algorithm}"
            )
        response = await asyncio.to_thread(
            self._client.sign,
            KeyId=self.key_id,
            Message=data,
            MessageType="RAW",
            SigningAlgorithm=self.algorithm.kms_name,
        )
        self.sign_calls += 1
        return bytes(response["Signature"])


def kms_signer(client: Any, key_id: str, certs: list[x509.Certificate]) -> tuple[KmsSigner, x509.Certificate]:
    """Check the KMS key (a signing key whose public key is in one of `certs`) and build its signer.

    Returns the signer and the certificate that belongs to the key (the others form its chain).
    """
    try:
        described = client.describe_key(KeyId=key_id)["KeyMetadata"]
        public = client.get_public_key(KeyId=key_id)
    except (BotoCoreError, ClientError) as exc:
        raise SignerConfigError(f"KMS key {key_id}: cannot be read ({exc})") from None
    if described.get("KeyUsage") != "SIGN_VERIFY":
        raise SignerConfigError(
            f"KMS key {key_id}: KeyUsage is {described.get('KeyUsage')}; "
            "expected SIGN_VERIFY (an asymmetric signing key)"
        )
    spec = public.get("KeySpec") or described.get("KeySpec")
    algorithm = KMS_ALGORITHMS.get(spec or "")
    if algorithm is None:
        raise SignerConfigError(
            f"KMS key {key_id}: key spec {spec} is not supported; expected one of {', '.join(sorted(KMS_ALGORITHMS))}"
        )
    if algorithm.kms_name not in public.get("SigningAlgorithms", [algorithm.kms_name]):
        raise SignerConfigError(f"KMS key {key_id}: does not offer {algorithm.kms_name}")
    kms_public = bytes(public["PublicKey"])
    spki = Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    own = [c for c in certs if c.public_key().public_bytes(*spki) == kms_public]
    if not own:
        raise SignerConfigError(
            f"KMS key {key_id}: none of the {len(certs)} certificate(s) given holds this key's public key",
            hint="AUDITPACK_SIGNING_KMS_CERT must contain the certificate issued for the KMS key, then its chain",
        )
    cert = own[0]
    others = [c for c in certs if c is not cert]
    signer = KmsSigner(
        client=client,
        key_id=key_id,
        algorithm=algorithm,
        signing_cert=asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER)),
        other_certs=[asn1_x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in others],
    )
    return signer, cert
