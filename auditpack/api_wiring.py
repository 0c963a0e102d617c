"""Builds the API from settings: the one place settings become `create_app` arguments and executors are chosen."""

from __future__ import annotations

from fastapi import FastAPI

from api.app import create_app
from api.context import ApiConfig
from api.executors import Executors
from auditpack.settings import Settings
from auditpack.wiring import open_store
from evidence.store import EvidenceStore


def api_config(settings: Settings) -> ApiConfig:
    return ApiConfig(
        max_body_bytes=settings.api_max_body_bytes,
        auth_failure_limit=settings.api_auth_failure_limit,
        auth_failure_window_seconds=settings.api_auth_failure_window_seconds,
        job_threads=settings.api_job_threads,
        schedule=settings.schedule,
        schedule_grace_minutes=settings.schedule_grace_minutes,
        docs=settings.api_docs,
    )


def api_executors(settings: Settings, store: EvidenceStore) -> Executors:
    """The executors this build has. Collection (`evidence.orchestrator.collect`), packet building
    (`reports.packet.build_packet`) and verification (`reports.verify.verify_file`) are separate parts of
    auditpack; until they are part of this build, runs and packets answer 503 `not_configured`."""
    del settings, store
    return Executors()


def build_app(settings: Settings, *, executors: Executors | None = None) -> FastAPI:
    store = open_store(settings)  # schema checked (SQLite upgraded), interrupted runs recovered
    return create_app(
        engine=store.engine,
        data_dir=settings.data_dir,
        executors=executors if executors is not None else api_executors(settings, store),
        config=api_config(settings),
    )
