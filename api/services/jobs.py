"""Background jobs in the database: enqueue (idempotently), claim, heartbeat, finish, recover and retry.

State lives in `api_jobs` so any replica can see, run and recover it. A claim is a conditional UPDATE
(`status = 'queued'` -> `'running'`), so two workers never run the same job. A packet job's outcome is mirrored on
its packet in the same transaction.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.errors import IdempotencyKeyReusedError
from api.models import Job, JobKind, JobStatus, Packet, PacketStatus
from core.errors import ConflictError, NotFoundError
from evidence.labels import fit_label


def enqueue(
    session: Session,
    *,
    kind: JobKind,
    payload: dict[str, Any],
    requested_by: str,
    now: datetime,
    idempotency_key: str | None = None,
) -> tuple[Job, bool]:
    """Queue a job; with a key, a second request for the same (kind, key) returns the first job (created False)."""
    job = Job(
        kind=kind.value,
        payload=payload,
        result={},
        status=JobStatus.QUEUED.value,
        attempts=0,
        requested_by=fit_label(requested_by),
        idempotency_key=idempotency_key,
        created_at=now,
    )
    session.add(job)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = _by_key(session, kind=kind, key=idempotency_key)
        if existing is None:
            raise
        if existing.payload != payload:
            raise IdempotencyKeyReusedError(
                f"Idempotency-Key {idempotency_key!r} was already used for a different {kind.value} request "
                f"(job {existing.id})",
                hint="use a new key for a new request",
            ) from None
        return existing, False
    return job, True


def _by_key(session: Session, *, kind: JobKind, key: str | None) -> Job | None:
    if key is None:
        return None
    return session.scalars(select(Job).where(Job.kind == kind.value, Job.idempotency_key == key)).first()


def get_job(session: Session, *, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFoundError(f"job {job_id} does not exist")
    return job


def list_jobs(
    session: Session,
    *,
    limit: int,
    before_id: int | None = None,
    status: JobStatus | None = None,
    kind: JobKind | None = None,
) -> list[Job]:
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(Job.id < before_id)
    if status is not None:
        query = query.where(Job.status == status.value)
    if kind is not None:
        query = query.where(Job.kind == kind.value)
    return list(session.scalars(query))


def queued_ids(session: Session, *, limit: int) -> list[int]:
    query = select(Job.id).where(Job.status == JobStatus.QUEUED.value).order_by(Job.id).limit(limit)
    return list(session.scalars(query))


def claim(session: Session, *, job_id: int, worker: str, now: datetime) -> Job | None:
    """Take a queued job for `worker`; None when another worker took it first."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.QUEUED.value)
        .values(
            status=JobStatus.RUNNING.value,
            worker=worker,
            heartbeat_at=now,
            started_at=now,
            finished_at=None,
            error=None,
            attempts=Job.attempts + 1,
        )
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return None
    job = session.get(Job, job_id, populate_existing=True)
    assert job is not None
    _mirror_on_packet(session, job, PacketStatus.RUNNING, error=None)
    session.commit()
    return job


def heartbeat(session: Session, *, job_ids: Sequence[int], worker: str, now: datetime) -> None:
    if not job_ids:
        return
    session.execute(
        update(Job)
        .where(Job.id.in_(list(job_ids)), Job.worker == worker, Job.status == JobStatus.RUNNING.value)
        .values(heartbeat_at=now)
    )
    session.commit()


def finish(session: Session, *, job_id: int, worker: str, now: datetime, result: dict[str, Any]) -> None:
    _end(session, job_id=job_id, worker=worker, now=now, status=JobStatus.DONE, error=None, result=result)


def fail(session: Session, *, job_id: int, worker: str, now: datetime, error: str) -> None:
    _end(session, job_id=job_id, worker=worker, now=now, status=JobStatus.FAILED, error=error, result=None)


def _end(
    session: Session,
    *,
    job_id: int,
    worker: str,
    now: datetime,
    status: JobStatus,
    error: str | None,
    result: dict[str, Any] | None,
) -> None:
    job = session.get(Job, job_id, with_for_update=True, populate_existing=True)
    if job is None or job.status != JobStatus.RUNNING.value or job.worker != worker:
        # Recovered as interrupted by another replica while we ran (our heartbeat stalled): keep its verdict.
        session.rollback()
        raise ConflictError(f"job {job_id} is no longer running on {worker}; its outcome was not recorded")
    job.status = status.value
    job.error = error
    job.finished_at = now
    if result is not None:
        job.result = result
    if status is JobStatus.FAILED:
        _mirror_on_packet(session, job, PacketStatus.FAILED, error=error)
    session.commit()


def retry(session: Session, *, job_id: int) -> Job:
    """Queue a failed or interrupted job again (its packet, if any, goes back to queued)."""
    job = session.get(Job, job_id, with_for_update=True)
    if job is None:
        raise NotFoundError(f"job {job_id} does not exist")
    if job.status not in {s.value for s in JobStatus.retryable()}:
        raise ConflictError(f"job {job_id} is {job.status}; only failed or interrupted jobs can be retried")
    job.status = JobStatus.QUEUED.value
    job.worker = None
    job.heartbeat_at = None
    job.finished_at = None
    _mirror_on_packet(session, job, PacketStatus.QUEUED, error=None)
    session.commit()
    return job


def recover_interrupted(
    session: Session, *, worker: str, now: datetime, stale_after: timedelta, max_attempts: int = 1
) -> list[int]:
    """Take over running jobs whose worker is gone: a process on this host that no longer exists, or any worker
    whose heartbeat is older than `stale_after`. A job claimed fewer than `max_attempts` times is queued again
    (the next claim runs it afresh: a new run, a fresh packet build); others become interrupted, for a person to
    retry. This worker's own jobs are left alone. Returns the ids taken over."""
    host = socket.gethostname()
    running = session.scalars(select(Job).where(Job.status == JobStatus.RUNNING.value)).all()
    recovered: list[int] = []
    for job in running:
        if job.worker == worker:
            continue
        owner = job.worker or ""
        owner_host, _, pid = owner.rpartition(":")
        local_dead = owner_host == host and pid.isdigit() and not pid_alive(int(pid))
        beat = job.heartbeat_at or job.started_at or job.created_at
        if not (local_dead or now - beat > stale_after):
            continue
        reason = "its process ended" if local_dead else f"no heartbeat since {beat.isoformat()}"
        stopped = f"worker {owner} stopped before the job ended ({reason})"
        again = max(job.attempts, 1) < max_attempts  # a running job was claimed at least once
        values: dict[str, Any] = (
            {"status": JobStatus.QUEUED.value, "worker": None, "heartbeat_at": None, "finished_at": None}
            if again
            else {"status": JobStatus.INTERRUPTED.value, "finished_at": now}
        )
        error = (
            f"{stopped}; queued again (attempt {job.attempts + 1} of {max_attempts})"
            if again
            else f"interrupted: {stopped}; retry it to run it again"
        )
        changed = session.execute(
            update(Job)
            .where(Job.id == job.id, Job.status == JobStatus.RUNNING.value, Job.worker == job.worker)
            .values(error=error, **values)
        )
        if changed.rowcount == 1:  # type: ignore[attr-defined]
            session.refresh(job)
            _mirror_on_packet(session, job, PacketStatus.QUEUED if again else PacketStatus.FAILED, error=error)
            recovered.append(job.id)
    session.commit()
    return recovered


def _mirror_on_packet(session: Session, job: Job, status: PacketStatus, *, error: str | None) -> None:
    if job.kind != JobKind.PACKET.value:
        return
    packet = session.get(Packet, job.payload.get("packet_id"))
    if packet is None or packet.status == PacketStatus.READY.value:
        return
    packet.status = status.value
    packet.error = error
    if status in (PacketStatus.QUEUED, PacketStatus.RUNNING):
        packet.finished_at = None
    else:
        packet.finished_at = job.finished_at


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
