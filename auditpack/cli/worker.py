"""`auditpack worker`: run the API's background jobs and the nightly capture on procrastinate (PostgreSQL)."""

from __future__ import annotations

import logging

import typer


def worker(
    concurrency: int = typer.Option(
        2, "--concurrency", min=1, max=64, help="Jobs run at once by this process (one thread each)."
    ),
) -> None:
    """Run queued jobs (collections, packet builds) and the nightly capture, with PostgreSQL. Start as many as you
    like, on any machines: each job runs once, each nightly firing once. With SQLite, `auditpack serve` runs
    them itself."""
    from auditpack.settings import load_settings
    from auditpack.worker import run_worker

    settings = load_settings()
    if not settings.uses_procrastinate:
        raise typer.BadParameter(
            "jobs run inside `auditpack serve` with this database (SQLite or AUDITPACK_JOB_QUEUE=in-process); "
            "`auditpack worker` needs PostgreSQL",
            param_hint="AUDITPACK_DATABASE_URL",
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)  # a line per client endpoint otherwise
    run_worker(settings, concurrency=concurrency)
