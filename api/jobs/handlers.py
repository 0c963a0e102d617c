"""The two job kinds: a collection (hands the scope to the CollectRunner) and a packet build.

A packet is built into a fresh staging directory, hashed by us, moved into `packets/<id>/` with one rename, and
only then marked ready with its hashes, in one transaction: nobody sees `ready` before the files are complete.
With an S3 blob store the files are also put as locked objects (named by their hashes) before that transaction.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from api.executors import (
    BuiltPacket,
    CaptureNotifier,
    CollectRequest,
    CollectRunner,
    PacketBuilder,
    PacketRequest,
    RunSummarizer,
)
from api.models import Job, Packet, PacketStatus
from api.services.packets import PACKETS_DIR, STAGING_PREFIX, file_sha256, staging_dir
from core.clock import utcnow
from core.errors import NotFoundError, VerificationError
from evidence.blobstore import blob_store
from evidence.db import session_factory

log = logging.getLogger("auditpack.api.jobs")


class CollectJob:
    def __init__(
        self, runner: CollectRunner, summarize: RunSummarizer | None = None, notify: CaptureNotifier | None = None
    ) -> None:
        self._runner = runner
        self._summarize = summarize
        self._notify = notify

    def __call__(self, job: Job) -> dict[str, Any]:
        scope = CollectRequest.from_json(job.payload.get("scope") or {})
        try:
            run_id = self._runner(scope, job.payload["requested_by"], trigger=job.payload.get("trigger", "api"))
        except Exception as exc:  # a failed capture is notified too, then fails its job as before
            self._tell(
                getattr(exc, "run_id", None), error=getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            )
            raise
        self._tell(int(run_id))
        summary = self._summarize(int(run_id)) if self._summarize is not None else {}
        return {**summary, "run_id": int(run_id)}

    def _tell(self, run_id: int | None, *, error: str | None = None) -> None:
        if self._notify is None:
            return
        try:
            self._notify(run_id, error=error)
        except Exception:  # notifying must never change how the capture's job ends
            log.exception("could not hand run %s to the capture notifications", run_id)


class PacketJob:
    def __init__(
        self,
        *,
        engine: Engine,
        data_dir: Path,
        builder: PacketBuilder,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = session_factory(engine)
        self._blobs = blob_store(engine)
        self._root = data_dir.resolve() / PACKETS_DIR
        self._builder = builder
        self._clock = clock

    def __call__(self, job: Job) -> dict[str, Any]:
        packet_id = job.payload["packet_id"]
        with self._sessions() as session:
            packet = session.get(Packet, packet_id)
        if packet is None:
            raise NotFoundError(f"packet {packet_id} of job {job.id} does not exist")
        if packet.status == PacketStatus.READY.value:  # an earlier attempt finished; never rebuild a ready packet
            return {"packet_id": packet_id, "pdf_sha256": packet.pdf_sha256}
        self._root.mkdir(parents=True, exist_ok=True)
        for leftover in self._root.glob(f"{STAGING_PREFIX}{packet_id}-*"):  # from an attempt whose process died
            shutil.rmtree(leftover, ignore_errors=True)
        staging = staging_dir(self._root.parent, packet_id)
        staging.mkdir()
        try:
            request = PacketRequest(
                packet_id=packet_id,
                framework=packet.framework,
                as_of=packet.as_of,
                period_from=packet.period_from,
                period_to=packet.period_to,
                accounts=tuple((packet.scope or {}).get("accounts") or ()),
                requested_by=packet.requested_by,
                out_pdf=staging / "packet.pdf",
                out_bundle=staging / "bundle.zip",
            )
            built = self._builder(request)
            files = _hash_outputs(request, built)
            final = self._root / packet_id
            if final.exists():  # left by an attempt that moved its files but died before recording them
                shutil.rmtree(final)
            staging.replace(final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if self._blobs.external:
            self._store_objects(final, files)
        return self._mark_ready(packet_id, built, files)

    def _store_objects(self, final: Path, files: dict[str, tuple[str, int] | None]) -> None:
        """With an S3 blob store: the PDF and bundle become locked objects named by their hashes (before the packet
        is marked ready, so a ready packet's files are always there); downloads read them back from S3."""
        store: Any = self._blobs
        for name, recorded in (("packet.pdf", files["pdf"]), ("bundle.zip", files["bundle"])):
            if recorded is None:
                continue
            with (final / name).open("rb") as handle:
                store.put(recorded[0], handle)

    def _mark_ready(
        self, packet_id: str, built: BuiltPacket, files: dict[str, tuple[str, int] | None]
    ) -> dict[str, Any]:
        pdf_sha256, pdf_size = files["pdf"]  # type: ignore[misc]
        bundle = files["bundle"]
        with self._sessions.begin() as session:
            packet = session.get(Packet, packet_id, with_for_update=True)
            if packet is None:
                raise NotFoundError(f"packet {packet_id} disappeared while it was built")
            packet.pdf_path = f"{PACKETS_DIR}/{packet_id}/packet.pdf"
            packet.pdf_sha256, packet.pdf_size = pdf_sha256, pdf_size
            if bundle is not None:
                packet.bundle_path = f"{PACKETS_DIR}/{packet_id}/bundle.zip"
                packet.bundle_sha256, packet.bundle_size = bundle
            packet.run_ids = sorted(set(built.run_ids))
            packet.customer_item_ids = sorted(set(built.customer_item_ids))
            packet.exception_ids = sorted(set(built.exception_ids))
            packet.pages = built.pages
            packet.signer_fingerprint = built.signer_fingerprint
            packet.signer_identity = built.signer_identity
            packet.self_signed = built.self_signed
            packet.status = PacketStatus.READY.value
            packet.error = None
            packet.finished_at = self._clock()
        log.info("packet %s ready (pdf sha256 %s)", packet_id, pdf_sha256)
        return {"packet_id": packet_id, "pdf_sha256": pdf_sha256}


def _hash_outputs(request: PacketRequest, built: BuiltPacket) -> dict[str, tuple[str, int] | None]:
    """Hash what the builder wrote where it was asked to, and hold it to the hashes it reported."""
    if Path(built.pdf_path).resolve() != request.out_pdf.resolve():
        raise VerificationError(f"the packet builder wrote {built.pdf_path}, it was asked for {request.out_pdf}")
    if not request.out_pdf.is_file():
        raise VerificationError(f"the packet builder reported {request.out_pdf} but did not write it")
    files: dict[str, tuple[str, int] | None] = {"pdf": file_sha256(request.out_pdf), "bundle": None}
    if built.pdf_sha256 is not None and built.pdf_sha256 != files["pdf"][0]:  # type: ignore[index]
        raise VerificationError(
            f"the PDF on disk hashes to {files['pdf'][0]}, the builder reported {built.pdf_sha256}"  # type: ignore[index]
        )
    if built.bundle_path is not None:
        if Path(built.bundle_path).resolve() != request.out_bundle.resolve() or not request.out_bundle.is_file():
            raise VerificationError(f"the packet builder reported a bundle at {built.bundle_path}, not written there")
        files["bundle"] = file_sha256(request.out_bundle)
        if built.bundle_sha256 is not None and built.bundle_sha256 != files["bundle"][0]:
            raise VerificationError(
                f"the bundle on disk hashes to {files['bundle'][0]}, the builder reported {built.bundle_sha256}"
            )
    return files
