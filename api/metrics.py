"""Prometheus metrics of one app: request counts and latency per route template, authentication failures,
downloads, and (read at scrape time) jobs and packets by status. Each app has its own registry."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.models import Job, Packet


class _DatabaseCollector(Collector):
    """Jobs and packets by status, counted when Prometheus scrapes (so every replica reports the same truth)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def describe(self) -> Iterator[GaugeMetricFamily]:  # registration must not touch the database
        yield GaugeMetricFamily("auditpack_jobs", "Background jobs by kind and status", labels=["kind", "status"])
        yield GaugeMetricFamily("auditpack_packets", "Packets by status", labels=["status"])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        jobs = GaugeMetricFamily("auditpack_jobs", "Background jobs by kind and status", labels=["kind", "status"])
        packets = GaugeMetricFamily("auditpack_packets", "Packets by status", labels=["status"])
        with self._engine.connect() as connection:
            for kind, status, count in connection.execute(
                select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)
            ):
                jobs.add_metric([kind, status], count)
            for status, count in connection.execute(select(Packet.status, func.count()).group_by(Packet.status)):
                packets.add_metric([status], count)
        yield jobs
        yield packets


class ApiMetrics:
    def __init__(self, engine: Engine) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "auditpack_http_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "auditpack_http_request_duration_seconds",
            "Time to the end of the response",
            ["method", "route"],
            registry=self.registry,
        )
        self.auth_failures = Counter("auditpack_auth_failures", "Rejected bearer tokens", registry=self.registry)
        self.rate_limited = Counter("auditpack_rate_limited", "Requests refused with 429", registry=self.registry)
        self.download_bytes = Counter(
            "auditpack_download_bytes", "Bytes of packet files served", ["file"], registry=self.registry
        )
        self.downloads = Counter(
            "auditpack_downloads", "Packet file downloads by outcome", ["file", "outcome"], registry=self.registry
        )
        self.registry.register(_DatabaseCollector(engine))


class MetricsMiddleware:
    """Counts and times every HTTP request by its route template (never the raw path: ids would explode labels)."""

    def __init__(self, app: ASGIApp, *, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def tracking_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        finally:
            route = getattr(scope.get("route"), "path_format", None) or "unmatched"
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.latency.labels(scope["method"], route).observe(time.perf_counter() - started)
