"""`auditpack jobs list|retry`: background jobs of the API (collections, packet builds)."""

from __future__ import annotations

import typer

from auditpack.cli.output import OutputFormat, out, print_json
from core.vocabulary import JobKind, JobStatus

app = typer.Typer(
    help="Background jobs of the API: list them, retry a failed or interrupted one.", no_args_is_help=True
)


def _sessions():  # type: ignore[no-untyped-def]
    from auditpack.settings import load_settings
    from auditpack.wiring import open_store
    from evidence.db import session_factory

    return session_factory(open_store(load_settings(), recover=False).engine)


@app.command("list")
def list_(
    status: JobStatus = typer.Option(None, "--status", help="Only jobs in this state."),
    kind: JobKind = typer.Option(None, "--kind", help="collect or packet."),
    limit: int = typer.Option(50, "--limit", min=1, max=1000),
    output: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
) -> None:
    """List jobs, newest first."""
    from api.services import jobs
    from core.canonical import rfc3339

    with _sessions()() as session:
        rows = jobs.list_jobs(session, limit=limit, status=status, kind=kind)
    records = [
        {
            "id": j.id,
            "kind": j.kind,
            "status": j.status,
            "attempts": j.attempts,
            "requested_by": j.requested_by,
            "created_at": rfc3339(j.created_at),
            "finished_at": rfc3339(j.finished_at) if j.finished_at else None,
            "result": j.result,
            "error": j.error,
        }
        for j in rows
    ]
    if output is OutputFormat.json:
        print_json(records)
        return
    for r in records:
        line = f"{r['id']:>6}  {r['kind']:<8} {r['status']:<12} attempts {r['attempts']}  {r['created_at']}"
        out.print(line + (f"\n        {r['error']}" if r["error"] else ""), highlight=False)


@app.command("retry")
def retry(job_id: int = typer.Argument(..., help="A failed or interrupted job.")) -> None:
    """Queue a failed or interrupted job again; a running `auditpack serve` (SQLite) or `auditpack worker`
    (PostgreSQL) picks it up."""
    from api.services import jobs
    from auditpack.settings import load_settings

    sessions = _sessions()
    with sessions() as session:
        job = jobs.retry(session, job_id=job_id)
    if load_settings().uses_procrastinate:
        from api.jobs.queue import defer_job, make_app

        with make_app(sessions.kw["bind"].url).open() as queue:
            defer_job(queue, job.id)
    out.print(f"job {job.id} ({job.kind}) queued again")
