"""Packets: request (idempotent, enforced by a unique constraint), read, locate the files to serve, verify."""

from __future__ import annotations

import hashlib
import logging
import shutil
import uuid
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.errors import IdempotencyKeyReusedError
from api.models import Job, JobKind, JobStatus, Packet, PacketStatus
from api.principal import Principal
from api.services import cursor as cursors
from core.canonical import FINGERPRINT_VERSION, canonical_json, rfc3339, sha256_hex
from core.errors import ConflictError, InputError, NotFoundError, VerificationError
from evidence.blobstore import BlobStore

log = logging.getLogger("auditpack.api")

PACKETS_DIR = "packets"
STAGING_PREFIX = ".staging-"  # packets/.staging-<packet id>-<random>/: a build's files before they move into place
CHUNK_SIZE = 64 * 1024


@dataclass(frozen=True, slots=True)
class PacketSpec:
    framework: str
    as_of: datetime | None = None
    period_from: date | None = None
    period_to: date | None = None
    accounts: tuple[str, ...] = ()

    def fingerprint(self) -> str:
        return sha256_hex(
            canonical_json(
                {
                    "framework": self.framework,
                    "as_of": rfc3339(self.as_of) if self.as_of else None,
                    "period_from": self.period_from,
                    "period_to": self.period_to,
                    "accounts": sorted(self.accounts),
                },
                version=FINGERPRINT_VERSION,
            )
        )


@dataclass(frozen=True, slots=True)
class PacketFile:
    """A packet file on disk as recorded when it was built."""

    path: Path
    size: int
    sha256: str
    media_type: str
    filename: str
    # A file inside the zip at `path` (an OSCAL document of the bundle): size and sha256 are then the member's.
    member: str | None = None
    # With an S3 blob store: the object's bytes, streamed (and hashed by the download as they go) instead of `path`.
    source: Callable[[], Iterator[bytes]] | None = None

    @property
    def label(self) -> str:
        return self.member or self.path.name


def validate_spec(spec: PacketSpec, *, frameworks: Collection[str], now: datetime) -> None:
    if spec.framework not in frameworks:
        raise InputError(f"unknown framework {spec.framework!r}: expected one of {', '.join(sorted(frameworks))}")
    if spec.as_of is not None and (spec.period_from is not None or spec.period_to is not None):
        raise InputError("give either as_of or period (from, to), not both")
    if spec.as_of is not None and spec.as_of > now:
        raise InputError(f"as_of {rfc3339(spec.as_of)} is in the future (now is {rfc3339(now)})")
    if (spec.period_from is None) != (spec.period_to is None):
        raise InputError("a period needs both from and to")
    if spec.period_from and spec.period_to:
        if spec.period_from > spec.period_to:
            raise InputError(f"period from {spec.period_from} is after to {spec.period_to}")
        if spec.period_to > now.date():
            raise InputError(f"period to {spec.period_to} is in the future (today is {now.date()})")


def request_packet(
    session: Session,
    *,
    spec: PacketSpec,
    principal: Principal,
    idempotency_key: str | None,
    now: datetime,
) -> tuple[Packet, bool]:
    """Queue a packet build. With an Idempotency-Key, a repeat of the same request returns the first packet
    (created False); the unique constraint on (token, key) makes this hold for concurrent requests too."""
    packet_id = str(uuid.uuid4())
    packet = Packet(
        id=packet_id,
        framework=spec.framework,
        as_of=spec.as_of,
        period_from=spec.period_from,
        period_to=spec.period_to,
        scope={"accounts": list(spec.accounts)},
        requested_by=principal.name,
        requested_by_token_id=principal.token_id,
        idempotency_key=idempotency_key,
        request_sha256=spec.fingerprint(),
        status=PacketStatus.QUEUED.value,
        run_ids=[],
        created_at=now,
    )
    try:
        session.add(packet)
        session.flush()  # the unique constraint decides here, before a job exists
        job = Job(
            kind=JobKind.PACKET.value,
            payload={"packet_id": packet_id},
            result={},
            status=JobStatus.QUEUED.value,
            attempts=0,
            requested_by=principal.name,
            idempotency_key=f"packet:{packet_id}",
            created_at=now,
        )
        session.add(job)
        session.flush()
        packet.job_id = job.id
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = _by_key(session, token_id=principal.token_id, key=idempotency_key)
        if existing is None:
            raise
        if existing.request_sha256 != spec.fingerprint():
            raise IdempotencyKeyReusedError(
                f"Idempotency-Key {idempotency_key!r} was already used for a different packet request "
                f"(packet {existing.id})",
                hint="use a new key for a new request",
            ) from None
        return existing, False
    return packet, True


def _by_key(session: Session, *, token_id: int, key: str | None) -> Packet | None:
    if key is None:
        return None
    query = select(Packet).where(Packet.requested_by_token_id == token_id, Packet.idempotency_key == key)
    return session.scalars(query).first()


def get_packet(session: Session, *, packet_id: str, principal: Principal) -> Packet:
    """A packet the principal may see; to an auditor, a packet not granted does not exist."""
    packet = session.get(Packet, packet_id) if principal.may_see_packet(packet_id) else None
    if packet is None:
        raise NotFoundError(f"packet {packet_id} does not exist")
    return packet


def list_packets(
    session: Session,
    *,
    principal: Principal,
    limit: int,
    cursor: str | None,
    codec: cursors.CursorCodec,
    status: PacketStatus | None = None,
) -> tuple[list[Packet], str | None]:
    filters = {"status": status.value if status else None}
    query = select(Packet)
    if cursor:
        position = codec.decode(cursor, filters=filters)
        created_at = cursors.instant_position(position, "created_at")
        last_id = cursors.str_position(position, "id", max_length=36)
        query = query.where(
            or_(Packet.created_at < created_at, and_(Packet.created_at == created_at, Packet.id < last_id))
        )
    if principal.is_auditor:
        if not principal.packet_ids:
            return [], None
        query = query.where(Packet.id.in_(sorted(principal.packet_ids)))
    if status is not None:
        query = query.where(Packet.status == status.value)
    rows = list(session.scalars(query.order_by(Packet.created_at.desc(), Packet.id.desc()).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, codec.encode({"created_at": rfc3339(last.created_at), "id": last.id}, filters=filters)


def packet_file(packet: Packet, *, which: str, data_dir: Path, blobs: BlobStore | None = None) -> PacketFile:
    """The recorded PDF or bundle of a ready packet, resolved inside the data directory, or, with an external
    (S3) blob store, the object named by its recorded sha256."""
    if packet.status != PacketStatus.READY.value:
        raise ConflictError(f"packet {packet.id} is {packet.status}, not ready: there is nothing to download yet")
    if which == "pdf":
        relative, size, digest = packet.pdf_path, packet.pdf_size, packet.pdf_sha256
        media_type, filename = "application/pdf", f"auditpack-{packet.framework}-{packet.id}.pdf"
    else:
        relative, size, digest = packet.bundle_path, packet.bundle_size, packet.bundle_sha256
        media_type, filename = "application/zip", f"auditpack-{packet.framework}-{packet.id}.zip"
    if relative is None or size is None or digest is None:
        raise NotFoundError(f"packet {packet.id} has no {which}")
    if blobs is not None and blobs.external:
        store: Any = blobs
        stored = store.size(digest)  # VerificationError naming the key if it is missing
        if stored != size:
            raise VerificationError(f"packet {packet.id}: the {which} object is {stored} bytes, {size} were recorded")
        return PacketFile(
            path=Path(relative),
            size=size,
            sha256=digest,
            media_type=media_type,
            filename=filename,
            source=lambda: store.chunks(digest),
        )
    root = data_dir.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):  # stored paths are ours, but a tampered row must not reach outside
        raise VerificationError(f"packet {packet.id}: the stored {which} path points outside the data directory")
    if not path.is_file():
        raise VerificationError(f"packet {packet.id}: the {which} file is missing from the data directory")
    actual_size = path.stat().st_size
    if actual_size != size:
        raise VerificationError(f"packet {packet.id}: the {which} file is {actual_size} bytes, {size} were recorded")
    return PacketFile(path=path, size=size, sha256=digest, media_type=media_type, filename=filename)


def file_sha256(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_SIZE * 16):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def staging_dir(data_dir: Path, packet_id: str) -> Path:
    """A fresh staging directory name for one build attempt of `packet_id`."""
    return data_dir / PACKETS_DIR / f"{STAGING_PREFIX}{packet_id}-{uuid.uuid4().hex[:8]}"


def remove_stale_staging(session: Session, *, data_dir: Path) -> list[Path]:
    """Remove staging directories no build is using: those whose packet is not `running` (its build died with
    its process, or the packet is gone). Replicas share the data directory, so another replica's build in
    progress keeps its files. The directories are listed before the database is asked: a build that starts in
    between is `running` by the time its directory exists."""
    root = data_dir / PACKETS_DIR
    if not root.is_dir():
        return []
    leftovers = sorted(root.glob(f"{STAGING_PREFIX}*"))
    if not leftovers:
        return []
    building = set(session.scalars(select(Packet.id).where(Packet.status == PacketStatus.RUNNING.value)))
    removed = []
    for path in leftovers:
        if path.name[len(STAGING_PREFIX) :][:36] in building:
            continue
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
        log.info("removed leftover packet staging %s", path.name)
        removed.append(path)
    return removed
