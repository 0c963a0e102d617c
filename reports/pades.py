"""Signature operations: the packet's PAdES signature (whole file, named field) and the bundle manifest's detached
CMS signature. pyHanko's synchronous helpers call `asyncio.run`, which fails inside a running event loop (the API),
so both run through `run_coroutine`, which uses a worker thread when a loop is already running."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Awaitable, Callable
from typing import IO, TYPE_CHECKING, Any, TypeVar

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import VENDOR
from pyhanko.sign import fields
from pyhanko.sign.signers.pdf_signer import PdfSignatureMetadata, PdfSigner
from pyhanko.sign.timestamps import TimeStamper

SIGNATURE_FIELD = "AuditpackSignature"
REASON = "Audit evidence packet: attests that this file and its attached evidence are unchanged since signing"
T = TypeVar("T")

if TYPE_CHECKING:
    from reports.signing import PacketSigner  # not at run time: verification needs no signer (nor boto3)


def run_coroutine(factory: Callable[[], Awaitable[T]]) -> T:
    """Run an async pyHanko operation from synchronous code, whether or not this thread has a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_await(factory))
    result: dict[str, Any] = {}

    def worker() -> None:
        try:
            result["value"] = asyncio.run(_await(factory))
        except BaseException as exc:  # re-raised in the caller's thread below
            result["error"] = exc

    thread = threading.Thread(target=worker, name="pyhanko-sign")
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


async def _await(factory: Callable[[], Awaitable[T]]) -> T:
    return await factory()


def align_producer(writer: IncrementalPdfFileWriter) -> None:
    """PDF/A wants the info dictionary and XMP to agree; pyHanko writes its own name as the XMP producer, so the
    info dictionary's producer is set to the same value before it writes (the creator tool keeps 'auditpack')."""
    info_ref = writer.trailer.raw_get("/Info") if "/Info" in writer.trailer else None
    if info_ref is None:
        return
    info = info_ref.get_object()
    info[generic.NameObject("/Producer")] = generic.TextStringObject(VENDOR)
    writer.mark_update(info_ref)


_CHUNK = 1 << 20


def sign_pdf(
    writer: IncrementalPdfFileWriter,
    signer: PacketSigner,
    output: IO[bytes],
    *,
    location: str,
    timestamper: TimeStamper | None = None,
) -> None:
    """Sign the document in `writer` (with whatever else the update carries) into `output`."""
    metadata = PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        reason=REASON,
        location=location,
        name=signer.identity,
        md_algorithm=signer.digest_algorithm,
        subfilter=fields.SigSeedSubFilter.PADES,
    )
    pdf_signer = PdfSigner(metadata, signer=signer.signer, timestamper=timestamper)
    align_producer(writer)
    # chunk_size: pyHanko hashes the signed byte ranges reading 4 KB at a time by default (~40,000 reads for a
    # million-item packet); a megabyte at a time, the same digest
    run_coroutine(lambda: pdf_signer.async_sign_pdf(writer, output=output, chunk_size=_CHUNK))


def sign_detached(data: IO[bytes], signer: PacketSigner, *, timestamper: TimeStamper | None = None) -> bytes:
    """A detached CMS SignedData (DER) over the bytes of `data`, verifiable with `openssl cms -verify -binary`."""
    digest = hashlib.new(signer.digest_algorithm)
    while chunk := data.read(1 << 20):  # pyHanko reads 4 KB at a time: 0.7 s for a million-item bundle manifest
        digest.update(chunk)
    return sign_digest(digest.digest(), signer, timestamper=timestamper)


def sign_digest(digest: bytes, signer: PacketSigner, *, timestamper: TimeStamper | None = None) -> bytes:
    """`sign_detached` of data whose digest (in `signer.digest_algorithm`) is already known, e.g. from the writer
    that hashed it while writing it: the same SignedData, since a detached signature signs the digest."""
    info = run_coroutine(
        lambda: signer.signer.async_sign(
            data_digest=digest,
            digest_algorithm=signer.digest_algorithm,
            use_pades=False,
            is_pdf_sig=False,
            timestamper=timestamper,
        )
    )
    return info.dump()
