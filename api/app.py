"""The app factory. Everything comes in as arguments: the database engine, the data directory, the executors,
the read sources and the settings values (`ApiConfig`). The API never reads the environment.

    create_app(*, engine, data_dir, executors=Executors(), findings_source=None, frameworks_source=None,
               config=ApiConfig(), clock=utcnow, run_background=True, job_queue=None) -> FastAPI

With `run_background` the app's lifespan starts a job worker (and, when a schedule and a collector are
configured, the nightly capture scheduler) and stops them on shutdown; given a `job_queue` (PostgreSQL) it starts
neither and only hands queued jobs to procrastinate, whose `auditpack worker` processes run them and the schedule.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from sqlalchemy import Engine

from api import handlers, ui
from api.admission import AdmissionMiddleware
from api.context import ApiConfig, ApiContext
from api.cursor_secret import load_or_create_cursor_secret
from api.docs import install_docs
from api.executors import Executors
from api.jobs.handlers import CollectJob, PacketJob
from api.jobs.queue import ProcrastinateQueue
from api.jobs.worker import JobHandler, JobWorker
from api.metrics import ApiMetrics, MetricsMiddleware
from api.middleware import AuditorLogMiddleware, GuardMiddleware
from api.models import JobKind
from api.ratelimit import FailureLimiter
from api.routes import (
    access_log,
    diff,
    evidence,
    evidence_items,
    exceptions,
    findings,
    frameworks,
    grants,
    health,
    jobs,
    metrics,
    packets,
    runs,
    tokens,
)
from api.scheduler import CaptureScheduler, parse_schedule
from api.services import packets as packet_service
from api.services.cursor import CursorCodec
from api.sources import FindingsSource, FrameworksSource
from core.clock import utcnow
from evidence.customer.policy import CustomerPolicy
from evidence.db import session_factory

log = logging.getLogger("auditpack.api")
API_VERSION = "1"


def job_handlers(
    *, engine: Engine, data_dir: Path, executors: Executors, clock: Callable[[], datetime]
) -> dict[str, JobHandler]:
    found: dict[str, JobHandler] = {}
    if executors.collect is not None:
        found[JobKind.COLLECT.value] = CollectJob(executors.collect, executors.summarize_run, executors.notify)
    if executors.build_packet is not None:
        found[JobKind.PACKET.value] = PacketJob(
            engine=engine, data_dir=data_dir, builder=executors.build_packet, clock=clock
        )
    return found


def _remove_stale_staging(context: ApiContext) -> None:
    try:
        with context.sessions() as session:
            packet_service.remove_stale_staging(session, data_dir=context.data_dir)
    except OSError:  # an unusable data directory shows in /readyz; it must not stop the service starting
        log.exception("could not remove leftover packet staging directories")


def create_app(
    *,
    engine: Engine,
    data_dir: Path,
    executors: Executors = Executors(),
    findings_source: FindingsSource | None = None,
    frameworks_source: FrameworksSource | None = None,
    customer_policy: CustomerPolicy | None = None,
    config: ApiConfig = ApiConfig(),
    clock: Callable[[], datetime] = utcnow,
    run_background: bool = True,
    job_queue: ProcrastinateQueue | None = None,
) -> FastAPI:
    trigger = parse_schedule(config.schedule)  # a bad expression fails here, at start-up, not at 02:00
    metrics_ = ApiMetrics(engine)
    cursor_secret = config.cursor_secret or load_or_create_cursor_secret(data_dir.resolve())
    context = ApiContext(
        engine=engine,
        sessions=session_factory(engine),
        data_dir=data_dir.resolve(),
        config=config,
        executors=executors,
        limiter=FailureLimiter(limit=config.auth_failure_limit, window_seconds=config.auth_failure_window_seconds),
        metrics=metrics_,
        clock=clock,
        cursors=CursorCodec.from_secret(cursor_secret),
        findings=findings_source,
        frameworks=frameworks_source,
        customer_policy=customer_policy,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if not run_background:
            yield
            return
        if job_queue is not None:  # PostgreSQL: `auditpack worker` processes run the jobs and the nightly capture
            job_queue.open()
            _remove_stale_staging(context)  # builds no longer running left them (a worker's build keeps its own)
            context.job_queued = job_queue.dispatch
            log.info("jobs and the nightly capture run in `auditpack worker` processes (procrastinate)")
            try:
                yield
            finally:
                context.job_queued = lambda _job_id: None
                job_queue.close()
            return
        worker = JobWorker(
            engine=engine,
            handlers=job_handlers(engine=engine, data_dir=context.data_dir, executors=executors, clock=clock),
            threads=config.job_threads,
            poll_seconds=config.job_poll_seconds,
            heartbeat_seconds=config.job_heartbeat_seconds,
            stale_after=timedelta(seconds=config.job_stale_after_seconds),
            clock=clock,
        )
        worker.start()  # first marks the jobs of dead workers interrupted (their packets failed)...
        _remove_stale_staging(context)  # ...so their half-written packet files go now
        context.job_queued = lambda _job_id: worker.wake()
        scheduler = None
        if trigger is not None and executors.collect is not None:
            scheduler = CaptureScheduler(
                engine=engine,
                trigger=trigger,
                grace=timedelta(minutes=config.schedule_grace_minutes),
                scope=config.schedule_scope,
                on_enqueued=lambda _job: worker.wake(),
                clock=clock,
            )
            scheduler.start()
            log.info("nightly capture scheduled (%s UTC), next at %s", config.schedule, scheduler.next_firing())
        elif trigger is not None:
            log.warning("AUDITPACK_SCHEDULE is set but no collector is configured: no scheduled captures")
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown()
            worker.stop(timeout=10)

    app = FastAPI(
        title="auditpack",
        version=API_VERSION,
        summary="Signed, audit-ready evidence for HIPAA, PCI DSS and SOC 2 from an AWS estate.",
        lifespan=lifespan,
        docs_url=None,  # FastAPI's pages load their scripts from a CDN; api.docs serves them from here
        redoc_url=None,
    )
    app.state.context = context
    if config.docs:
        install_docs(app)
    handlers.install(app)
    for router in (health, metrics, tokens, runs, diff, jobs, evidence, packets, grants, access_log):
        app.include_router(router.router)
    # Findings and frameworks come from other parts of auditpack: mounted only when a source is wired.
    if findings_source is not None:
        app.include_router(findings.router)
    if frameworks_source is not None:
        app.include_router(frameworks.router)
    # Customer evidence and exceptions are checked against the catalogs' controls: mounted with that policy.
    streamed: dict[tuple[str, str], int] = {}
    if customer_policy is not None:
        app.include_router(evidence_items.router)
        app.include_router(exceptions.router)
        # Uploads stream past the small body limit, to the file limit plus the room the other fields may take.
        streamed[("POST", evidence_items.PATH)] = customer_policy.max_bytes + 2 * config.max_body_bytes
        streamed[("POST", ui.UPLOAD_PATH)] = customer_policy.max_bytes + 2 * config.max_body_bytes
    # The web interface (api.ui) at /ui, and / sends a browser there.
    ui.mount(app, context, secret=cursor_secret)
    app.add_api_route("/", lambda: RedirectResponse("/ui/", status_code=307), include_in_schema=False)
    # Last added runs first: the guard sees every response, including errors of the inner layers.
    app.add_middleware(AuditorLogMiddleware, engine=engine, clock=clock)
    app.add_middleware(
        AdmissionMiddleware, limit=config.max_concurrent_requests, wait_seconds=config.queue_timeout_seconds
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics_)
    app.add_middleware(GuardMiddleware, max_body_bytes=config.max_body_bytes, streamed=streamed)
    return app
