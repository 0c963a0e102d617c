"""The nightly capture: an APScheduler cron trigger that queues one collection job per firing.

Every replica runs this scheduler. A firing becomes a job whose idempotency key is the firing time
(`schedule:2026-11-28T02:00:00Z`), and `api_jobs` has a unique constraint on (kind, key): however many replicas
fire, the database accepts one row, and the job worker that claims it is the only one that runs it. This works the
same on SQLite and PostgreSQL and needs no lock held across the collection.

Missed firings (the service was down at 02:00) run once at start-up when the latest one is within the grace
period; older ones are skipped, not replayed one by one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine

from api.errors import IdempotencyKeyReusedError
from api.executors import CollectRequest
from api.models import Job, JobKind
from api.services import jobs
from core.canonical import rfc3339
from core.clock import utcnow
from core.errors import InputError
from evidence.db import session_factory
from evidence.models import Trigger

log = logging.getLogger("auditpack.api.schedule")
SCHEDULER_PRINCIPAL = "scheduler"
_LOOKBACK_LIMIT = timedelta(days=800)


def parse_schedule(expression: str) -> CronTrigger | None:
    """A five-field cron expression in UTC, or None when empty (schedule disabled)."""
    if not expression.strip():
        return None
    try:
        return CronTrigger.from_crontab(expression.strip(), timezone=UTC)
    except ValueError as exc:
        raise InputError(
            f"cannot read the schedule {expression!r}: {exc}",
            hint="use five cron fields in UTC, e.g. '0 2 * * *' for 02:00 every night, or empty to disable",
        ) from None


def latest_firing(trigger: BaseTrigger, now: datetime) -> datetime | None:
    """The last time at or before `now` that `trigger` fires (None if none in the last 800 days)."""
    back = timedelta(minutes=1)
    first = None
    while back <= _LOOKBACK_LIMIT:
        candidate = trigger.get_next_fire_time(None, now - back)
        if candidate is not None and candidate <= now:
            first = candidate
            break
        back *= 2
    if first is None:
        return None
    while True:
        following = trigger.get_next_fire_time(first, first + timedelta(microseconds=1))
        if following is None or following > now:
            return first
        first = following


def firing_key(moment: datetime) -> str:
    return f"schedule:{rfc3339(moment.replace(microsecond=0))}"


class CaptureScheduler:
    def __init__(
        self,
        *,
        engine: Engine,
        trigger: BaseTrigger,
        grace: timedelta,
        scope: CollectRequest = CollectRequest(),
        on_enqueued: Callable[[Job], None] = lambda job: None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = session_factory(engine)
        self._trigger = trigger
        self._grace = grace
        self._scope = scope
        self._on_enqueued = on_enqueued
        self._clock = clock
        self._scheduler: BackgroundScheduler | None = None

    def fire(self, firing: datetime) -> Job | None:
        """Queue the collection of one firing; None if another replica (or an earlier call) already did."""
        payload = {
            "scope": self._scope.to_json(),
            "requested_by": SCHEDULER_PRINCIPAL,
            "trigger": Trigger.SCHEDULE.value,
        }
        try:
            with self._sessions() as session:
                job, created = jobs.enqueue(
                    session,
                    kind=JobKind.COLLECT,
                    payload=payload,
                    requested_by=SCHEDULER_PRINCIPAL,
                    now=self._clock(),
                    idempotency_key=firing_key(firing),
                )
        except IdempotencyKeyReusedError as exc:  # a replica with another scope queued this firing first
            log.warning("firing %s was queued by a replica with a different scope: %s", firing.isoformat(), exc)
            return None
        if not created:
            log.info("firing %s is already queued as job %s (another replica took it)", firing.isoformat(), job.id)
            return None
        log.info("firing %s queued as job %s", firing.isoformat(), job.id)
        self._on_enqueued(job)
        return job

    def catch_up(self) -> Job | None:
        """Run the latest missed firing once, if it is within the grace period."""
        now = self._clock()
        latest = latest_firing(self._trigger, now)
        if latest is None or now - latest > self._grace:
            return None
        return self.fire(latest)

    def _on_fire(self) -> None:
        latest = latest_firing(self._trigger, self._clock())
        if latest is None:  # pragma: no cover - APScheduler only calls us at a firing
            return
        try:
            self.fire(latest)
        except Exception:  # the next firing tries again; the failure is in the log and no job was created
            log.exception("could not queue the scheduled capture of %s", latest.isoformat())

    def start(self) -> None:
        self.catch_up()
        scheduler = BackgroundScheduler(timezone=UTC)
        scheduler.add_job(
            self._on_fire,
            self._trigger,
            id="nightly-capture",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, int(self._grace.total_seconds())),
        )
        scheduler.start()
        self._scheduler = scheduler

    def shutdown(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None

    def next_firing(self) -> datetime | None:
        return self._trigger.get_next_fire_time(None, self._clock())
