"""The evidence bundle: the signed packet, the evidence files, a manifest listing every file, the manifest's
detached CMS signature, the signer's chain and VERIFY.md, in one zip written to a temporary file."""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined
from pyhanko.sign.timestamps import TimeStamper

from reports.bundle_files import CHAIN, MANIFEST, PDF_NAME, README, SIGNATURE
from reports.manifest import bundle_prefix
from reports.pades import sign_detached
from reports.signing import PacketSigner
from reports.streams import ExportedFile

COPY_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class BundleText:
    """What VERIFY.md says about the packet."""

    packet_id: str
    framework_name: str
    org_name: str
    generated_at: str
    generated_by: str


def file_digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(COPY_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _entry(sha256: str, size: int) -> dict[str, object]:
    return {"sha256": sha256, "size": size}


def verify_md(text: BundleText, signer: PacketSigner) -> bytes:
    env = Environment(loader=PackageLoader("reports", "templates"), undefined=StrictUndefined, autoescape=False)  # noqa: S701 - Markdown, not HTML
    rendered = env.get_template(README).render(
        packet_id=text.packet_id,
        framework_name=text.framework_name,
        org_name=text.org_name,
        generated_at=text.generated_at,
        generated_by=text.generated_by,
        signer_identity=signer.identity,
        self_signed=signer.self_signed,
        fingerprint=signer.fingerprint,
    )
    return rendered.encode("utf-8")


def write_bundle(
    target: Path,
    *,
    work_dir: Path,
    pdf_path: Path,
    manifest: ExportedFile,
    payloads: ExportedFile,
    findings: ExportedFile,
    signer: PacketSigner,
    text: BundleText,
    timestamper: TimeStamper | None = None,
    extra: Sequence[ExportedFile] = (),
) -> None:
    """Write the bundle zip to `target` (a temporary path the caller renames into place).

    extra: more export files (customer evidence), each written under its `bundle_name`."""
    unkept = any(file.raw_path is None for file in extra)
    if manifest.raw_path is None or payloads.raw_path is None or findings.raw_path is None or unkept:
        raise ValueError("the bundle needs the plain export files (keep_raw=True)")
    chain = signer.chain_pem()
    readme = verify_md(text, signer)
    pdf_sha, pdf_size = file_digest(pdf_path)
    files = {
        PDF_NAME: _entry(pdf_sha, pdf_size),
        payloads.bundle_name: _entry(payloads.sha256, payloads.size),
        findings.bundle_name: _entry(findings.sha256, findings.size),
        CHAIN: _entry(hashlib.sha256(chain).hexdigest(), len(chain)),
        README: _entry(hashlib.sha256(readme).hexdigest(), len(readme)),
        **{file.bundle_name: _entry(file.sha256, file.size) for file in extra},
    }
    bundle_manifest = work_dir / "bundle-manifest.json"
    with bundle_manifest.open("wb") as out, manifest.raw_path.open("rb") as source:
        out.write(bundle_prefix(files))
        first = source.read(COPY_CHUNK)
        if not first.startswith(b"{"):
            raise ValueError("the packet manifest does not start with '{'")
        out.write(first[1:])
        while chunk := source.read(COPY_CHUNK):
            out.write(chunk)
    with bundle_manifest.open("rb") as data:
        signature = sign_detached(data, signer, timestamper=timestamper)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6, allowZip64=True) as zf:
        zf.write(pdf_path, PDF_NAME, compress_type=zipfile.ZIP_STORED)  # already compressed
        zf.write(bundle_manifest, MANIFEST)
        zf.writestr(SIGNATURE, signature, compress_type=zipfile.ZIP_STORED)
        zf.write(payloads.raw_path, payloads.bundle_name)
        zf.write(findings.raw_path, findings.bundle_name)
        zf.writestr(CHAIN, chain)
        zf.writestr(README, readme)
        for file in extra:
            assert file.raw_path is not None  # checked above
            zf.write(file.raw_path, file.bundle_name)
