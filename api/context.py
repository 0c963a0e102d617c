"""What one app instance runs with: its settings values, database, executors and the shared helpers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.executors import CollectRequest, Executors
from api.metrics import ApiMetrics
from api.ratelimit import FailureLimiter
from api.services.cursor import CursorCodec
from api.sources import FindingsSource, FrameworksSource
from evidence.customer.policy import CustomerPolicy

DEFAULT_FRAMEWORKS = ("hipaa", "pci-dss", "soc2")


@dataclass(frozen=True, slots=True)
class ApiConfig:
    """Settings values the app needs (the `auditpack` shell fills them from AUDITPACK_* variables)."""

    max_body_bytes: int = 64 * 1024
    auth_failure_limit: int = 10  # failures per window per client address before 429 (0 disables)
    auth_failure_window_seconds: int = 300
    job_threads: int = 2
    job_poll_seconds: float = 5.0
    job_heartbeat_seconds: float = 15.0
    job_stale_after_seconds: float = 120.0
    frameworks: tuple[str, ...] = DEFAULT_FRAMEWORKS  # ids a packet may be requested for
    schedule: str = ""  # five-field cron in UTC; empty disables the nightly capture
    schedule_grace_minutes: int = 360
    schedule_scope: CollectRequest = field(default_factory=CollectRequest)
    docs: bool = True  # serve /docs and /redoc (the OpenAPI schema is always at /openapi.json)
    # Signs pagination cursors; None: the secret kept in the data directory (api.cursor_secret). Never shown.
    cursor_secret: bytes | None = field(default=None, repr=False)
    max_concurrent_requests: int = 16  # admission control (api.admission); 0: no limit
    queue_timeout_seconds: float = 5.0  # how long a request waits for admission before 503 + Retry-After
    # The web interface's session cookie without the Secure flag: only for plain HTTP on a loopback address
    # (`auditpack serve --plain-http`); honoured only when the server's own address is loopback (api.ui).
    ui_plain_http: bool = False
    # Evaluate every framework's status in the background when the web interface starts (`auditpack serve`), so
    # the first dashboard does not wait for it; off for apps built in-process (tests, embedding).
    ui_warm_statuses: bool = False


@dataclass(slots=True)
class ApiContext:
    engine: Engine
    sessions: sessionmaker[Session]
    data_dir: Path
    config: ApiConfig
    executors: Executors
    limiter: FailureLimiter
    metrics: ApiMetrics
    clock: Callable[[], datetime]
    cursors: CursorCodec
    findings: FindingsSource | None = None
    frameworks: FrameworksSource | None = None
    # What customer evidence and exceptions are checked against (the catalogs' control ids, validity and size
    # limits); None: the customer evidence routes are not mounted.
    customer_policy: CustomerPolicy | None = None
    # Called with a job's id once its row is queued: wakes the in-process worker (SQLite) or defers it to the
    # procrastinate workers (PostgreSQL); a no-op without background execution.
    job_queued: Callable[[int], None] = lambda _job_id: None
