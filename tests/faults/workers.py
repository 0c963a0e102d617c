"""What the fault tests' `auditpack worker` processes share: their settings and the collection they are handed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from api.models import JobKind
from api.services import jobs
from evidence.db import session_factory
from tests.moto_server import MotoServer


def worker_env(
    db_url: str,
    endpoint: str,
    data_dir: Path,
    moto_server: MotoServer,
    *,
    regions: Sequence[str],
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Workers on procrastinate against `endpoint` (moto_server, or a proxy in front of it), taking over quickly:
    they beat (and look for dead workers) every second and hand requeued work over every second."""
    return {
        **moto_server.env(),
        "AWS_ENDPOINT_URL": endpoint,
        "AUDITPACK_DATABASE_URL": db_url,
        "AUDITPACK_DATA_DIR": str(data_dir),
        "AUDITPACK_JOB_QUEUE": "auto",
        "AUDITPACK_SCHEDULE": "",
        "AUDITPACK_REGIONS": ",".join(regions),
        "AUDITPACK_JOB_HEARTBEAT_SECONDS": "1",
        "AUDITPACK_JOB_SWEEP_SECONDS": "1",
        **(extra or {}),
    }


def queue_collection(engine: Engine, regions: Sequence[str]) -> int:
    """A collection job queued as the API queues one (before the workers start, their start-up hands it over)."""
    with session_factory(engine)() as session:
        job, _ = jobs.enqueue(
            session,
            kind=JobKind.COLLECT,
            payload={"scope": {"regions": list(regions)}, "requested_by": "faults", "trigger": "api"},
            requested_by="faults",
            now=datetime.now(UTC),
        )
    return job.id
