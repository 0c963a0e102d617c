"""Capture notifications, wired from settings: what a capture's summary says (gathered from the store: the diff
against the previous run, evidence and exceptions expiring or expired, gaps) and sending it to AUDITPACK_WEBHOOKS.

Called after every capture, once its run is sealed: by `auditpack collect` (waiting, within the retry bounds, and
never changing its exit code), and by the API's collect jobs, nightly or on demand (in a background thread: the
job ends when its run is sealed). A capture that failed is notified too, with its error.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from api.webhooks.delivery import Delivery, RetryPolicy, Webhook
from api.webhooks.dispatch import Dispatcher, Hooks, send
from auditpack.collection import thresholds_from_settings
from auditpack.settings import Settings
from core.canonical import rfc3339
from evidence.checks.registry import check_metadata
from evidence.customer.service import customer_evidence
from evidence.diff.engine import RunDiff, previous_run
from evidence.diff.jsonable import run_json
from evidence.diff.types import DiffTally, FindingChangeKind
from evidence.findings_check import ensure_findings
from evidence.models import Run, RunStatus
from evidence.store import EvidenceStore
from frameworks import expiring
from reports.notification import CaptureFacts, capture_payload, sample_payload

log = logging.getLogger("auditpack.webhooks")
LISTED = 20  # new failures and resolved findings listed in a notification (all are counted)
GAPS_LISTED = 5


def hooks_from_settings(settings: Settings) -> Hooks:
    return Hooks(
        webhooks=tuple(Webhook(url, secret) for url, secret in settings.webhook_targets()),
        policy=RetryPolicy(attempts=settings.webhook_attempts, timeout=settings.webhook_timeout),
    )


def _run_facts(run: Run) -> dict[str, Any]:
    return {
        **run_json(run),
        "trigger": run.trigger,
        "evidence_count": run.evidence_count,
        "gap_count": run.gap_count,
        "error": run.error,
    }


def _finding(resource: Any, change: Any) -> dict[str, Any]:
    meta = check_metadata().get(change.check_id)
    lookup = resource.lookup
    return {
        "check_id": change.check_id,
        "title": meta.title if meta else change.check_id,
        "severity": meta.severity.value if meta else None,
        "account_id": resource.account_id,
        "region": resource.region,
        "resource_id": resource.resource_id,
        "reason": change.reason,
        "changed_by": list(lookup.actors) if lookup is not None else [],
        "lookup": lookup.status if lookup is not None else "not_looked_up",
    }


def capture_facts(
    settings: Settings,
    store: EvidenceStore,
    run_id: int | None,
    *,
    error: str | None = None,
    now: datetime | None = None,
) -> CaptureFacts:
    """Everything a capture's notification says (the diff streams: memory stays flat however large the runs)."""
    moment = now or datetime.now(UTC)
    customer = customer_evidence(store.engine, as_of=moment)
    soon = expiring.soon(customer, moment, window=timedelta(days=settings.webhook_expiring_days))
    if run_id is None:
        return CaptureFacts(
            settings.org_name, None, error=error, expiring_days=settings.webhook_expiring_days, expiring=soon
        )
    run = store.get_run(run_id)
    gaps = store.gaps(run.id)
    listed_gaps = [
        {
            "account_id": g.account_id,
            "region": g.region,
            "operation": f"{g.service}:{g.operation}",
            "error_code": g.error_code,
        }
        for g in gaps[:GAPS_LISTED]
    ]
    previous = previous_run(store, run) if run.status in (s.value for s in RunStatus.usable()) else None
    since = previous.finished_at if previous is not None and previous.finished_at else moment - timedelta(days=1)
    lapsed = expiring.lapsed(customer, since=since, until=moment)
    base = {
        "organisation": settings.org_name,
        "run": _run_facts(run),
        "error": error or run.error,
        "expiring_days": settings.webhook_expiring_days,
        "expiring": soon,
        "expired": lapsed,
        "gaps": listed_gaps,
        "gap_count": len(gaps),
    }
    if previous is None:
        return CaptureFacts(**base)
    thresholds = thresholds_from_settings(settings)
    for evaluated in (previous, run):
        ensure_findings(store, evaluated.id, thresholds=thresholds)
    tally = DiffTally()
    new_failures: list[dict[str, Any]] = []
    resolved: list[dict[str, Any]] = []
    for resource in RunDiff.open(store, previous.id, run.id).resources():
        tally.observe(resource)
        for change in resource.findings:
            if change.change is FindingChangeKind.NEWLY_FAILING and len(new_failures) < LISTED:
                new_failures.append(_finding(resource, change))
            elif change.change is FindingChangeKind.RESOLVED and len(resolved) < LISTED:
                resolved.append(_finding(resource, change))
    return CaptureFacts(
        **base,
        previous_run=run_json(previous),
        compared=True,
        counts=dict(tally.as_dict()["findings"]),
        new_failures=new_failures,
        resolved=resolved,
    )


def capture_notification(
    settings: Settings,
    store: EvidenceStore,
    run_id: int | None,
    *,
    error: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The notification of a capture as of `now` (default: now): what expires is counted from then."""
    return capture_payload(capture_facts(settings, store, run_id, error=error, now=now))


def notify_capture(
    settings: Settings, store: EvidenceStore, run_id: int | None, *, error: str | None = None
) -> list[Delivery]:
    """Send the capture's notification to every webhook and wait (within the retry bounds); never raises."""
    hooks = hooks_from_settings(settings)
    if not hooks:
        return []
    try:
        payload = capture_notification(settings, store, run_id, error=error)
    except Exception as exc:  # the capture is sealed whatever happens here
        log.exception("could not build the notification of run %s", run_id)
        payload = capture_payload(
            CaptureFacts(settings.org_name, None, error=f"the summary of run {run_id} could not be built: {exc}")
        )
    return send(store.engine, hooks, payload, event="capture", run_id=run_id)


def notify_test(settings: Settings, store: EvidenceStore | None) -> list[Delivery]:
    hooks = hooks_from_settings(settings)
    payload = {**sample_payload(settings.org_name), "sent_at": rfc3339(datetime.now(UTC))}
    return send(store.engine if store is not None else None, hooks, payload, event="test")


class CaptureNotifier:
    """`api.executors.CaptureNotifier`: the API's collect jobs notify in the background."""

    def __init__(self, settings: Settings, store: EvidenceStore) -> None:
        self._settings, self._store = settings, store
        self.dispatcher = Dispatcher(store.engine, hooks_from_settings(settings))

    def __call__(self, run_id: int | None, *, error: str | None = None) -> None:
        settings, store = self._settings, self._store
        self.dispatcher.submit(
            lambda: capture_notification(settings, store, run_id, error=error), event="capture", run_id=run_id
        )
