"""Builds the API from settings: the one place settings become `create_app` arguments, with the real executors
(collector, packet builder, verifier) and read sources (stored findings, framework catalogs)."""

from __future__ import annotations

from fastapi import FastAPI

from api.app import create_app
from api.context import ApiConfig
from api.executors import CollectRequest, Executors
from api.jobs.queue import ProcrastinateQueue
from auditpack.api_executors import real_executors
from auditpack.api_sources import CatalogFrameworks, StoredFindings
from auditpack.collection import thresholds_from_settings
from auditpack.settings import Settings
from auditpack.wiring import customer_policy, load_framework_catalogs, open_store


def schedule_scope(settings: Settings) -> CollectRequest:
    """What the nightly capture collects: the configured accounts (or Organization) and regions."""
    return CollectRequest(
        accounts=tuple(settings.accounts),
        regions=tuple(settings.regions),
        organization=settings.org,
        role_name=settings.role_name,
    )


def api_config(settings: Settings, *, frameworks: tuple[str, ...]) -> ApiConfig:
    return ApiConfig(
        max_body_bytes=settings.api_max_body_bytes,
        auth_failure_limit=settings.api_auth_failure_limit,
        auth_failure_window_seconds=settings.api_auth_failure_window_seconds,
        job_threads=settings.api_job_threads,
        frameworks=frameworks,
        schedule=settings.schedule,
        schedule_grace_minutes=settings.schedule_grace_minutes,
        schedule_scope=schedule_scope(settings),
        docs=settings.api_docs,
        cursor_secret=settings.cursor_secret.get_secret_value().encode("utf-8") if settings.cursor_secret else None,
        max_concurrent_requests=settings.api_max_concurrent_requests,
        queue_timeout_seconds=settings.api_queue_timeout,
        ui_plain_http=settings.ui_plain_http,
        ui_warm_statuses=settings.ui_warm_statuses,
    )


def build_app(settings: Settings, *, executors: Executors | None = None, run_background: bool = True) -> FastAPI:
    """The app `auditpack serve` runs. Tests may replace the executors, or run without the job worker and
    scheduler (`run_background=False`: requests are queued, never executed). With procrastinate (PostgreSQL)
    the app only queues; `auditpack worker` (auditpack/worker.py) runs the jobs and the schedule."""
    store = open_store(settings)  # schema checked (SQLite upgraded), interrupted runs recovered
    catalogs = load_framework_catalogs(settings)  # a malformed user catalog fails here, at start-up
    return create_app(
        engine=store.engine,
        data_dir=settings.data_dir,
        executors=executors if executors is not None else real_executors(settings, store),
        findings_source=StoredFindings(store, thresholds=thresholds_from_settings(settings)),
        frameworks_source=CatalogFrameworks(settings, store, catalogs),
        customer_policy=customer_policy(settings, catalogs),
        config=api_config(settings, frameworks=tuple(catalogs.ids())),
        run_background=run_background,
        job_queue=ProcrastinateQueue(store.engine.url) if settings.uses_procrastinate else None,
    )
