"""A packet's OSCAL documents, served from its bundle (where they are signed: `bundle_files` under the CMS
signature, the manifest's `oscal` entry under the PDF's too).

Before a document is served, the whole bundle must still hash to what was recorded when it was built: that proves
the manifest read from it is the signed one, so the document's hash and size taken from the manifest are too. The
download then checks the document's own bytes against that hash as they stream (api.downloads). With an S3 blob
store the bundle is its object, brought into the data directory's working copy when that copy is absent (a
replica that did not build it) and then held to the recorded hash like any bundle.
"""

from __future__ import annotations

import tempfile
import zipfile
from dataclasses import replace
from pathlib import Path

from api.models import Packet
from api.services.packets import PacketFile, file_sha256, packet_file
from core.errors import NotFoundError, VerificationError
from evidence.blobstore import BlobStore
from reports.bundle import MANIFEST
from reports.manifest import ManifestFormatError, read_manifest
from reports.oscal import DOCUMENTS

MEDIA_TYPE = "application/json"


def _working_copy(data_dir: Path, bundle: PacketFile) -> Path:
    """The data directory's copy of an S3 bundle, fetched from the object when absent (written aside, then renamed:
    a reader never sees half a file). Its hash is checked by the caller, as for any bundle."""
    root = data_dir.resolve()
    path = (root / bundle.path).resolve()
    if not path.is_relative_to(root):
        raise VerificationError(f"the stored bundle path {bundle.path} points outside the data directory")
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".fetch-", delete=False) as out:
        try:
            for chunk in bundle.source():  # type: ignore[misc]
                out.write(chunk)
        except BaseException:
            Path(out.name).unlink(missing_ok=True)
            raise
    Path(out.name).replace(path)
    return path


def known_names() -> str:
    return ", ".join(DOCUMENTS)


def check_name(document: str) -> None:
    if document not in DOCUMENTS:
        raise NotFoundError(f"there is no OSCAL document {document[:64]!r}: expected one of {known_names()}")


def oscal_file(packet: Packet, *, document: str, data_dir: Path, blobs: BlobStore | None = None) -> PacketFile:
    """The OSCAL `document` of a ready packet, as a member of its bundle."""
    check_name(document)
    bundle = packet_file(packet, which="bundle", data_dir=data_dir, blobs=blobs)
    if bundle.source is not None:  # an S3 object: the zip is read at random, so from a local copy
        bundle = replace(bundle, path=_working_copy(data_dir, bundle), source=None)
    digest, _size = file_sha256(bundle.path)
    if digest != bundle.sha256:
        raise VerificationError(
            f"packet {packet.id}: the bundle hashes to {digest}, but {bundle.sha256} was recorded when it was built"
        )
    try:
        with zipfile.ZipFile(bundle.path) as archive, archive.open(MANIFEST) as member:
            header, _entries = read_manifest(member)  # the header only
    except (zipfile.BadZipFile, KeyError, ManifestFormatError) as exc:
        raise VerificationError(f"packet {packet.id}: the bundle's manifest cannot be read ({exc})") from None
    oscal = header.get("oscal")
    if not isinstance(oscal, dict):
        raise NotFoundError(
            f"packet {packet.id} has no OSCAL documents: it was built before auditpack wrote them; request a new "
            "packet for the same framework and date"
        )
    entry = oscal.get("documents", {}).get(document)
    if not isinstance(entry, dict):
        raise VerificationError(f"packet {packet.id}: its manifest lists OSCAL documents but not {document}")
    return PacketFile(
        path=bundle.path,
        size=int(entry["size"]),
        sha256=str(entry["sha256"]),
        media_type=MEDIA_TYPE,
        filename=f"auditpack-{packet.framework}-{packet.id}-{document}.json",
        member=str(entry["file"]),
    )
