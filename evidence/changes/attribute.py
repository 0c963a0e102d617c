"""Who changed it: during a collection, once every collector has finished and before the run is sealed, the run is
diffed against the previous complete or partial run (`evidence.diff`), and each resource added, removed or changed
is looked up in CloudTrail (`evidence.changes.lookup`). What is found becomes evidence of the run being collected,
chained with the rest of it; a lookup that fails is a gap of the run.

Why here: the previous sealed run is known when a collection starts, the sessions into every account are still
open, and evidence added before sealing needs no second chain entry. Why not in `auditpack diff`: a diff reads
stored evidence only and never calls AWS; two runs that are not consecutive show the lookups the later one made.

Bounds: at most `limit` resources per run (those whose changed evidence some check reads first, then changes, then
additions, then removals), looked up concurrently across (account, region) pairs, each pair within CloudTrail's
two requests a second. Resources past the limit, and those without a CloudTrail name (account settings), are not
looked up; the run's statistics say how many (`change_lookups`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.clock import utcnow
from evidence.aws.calls import describe_error
from evidence.aws.regions import HeldGap
from evidence.aws.session import AccountSession
from evidence.changes.lookup import Candidate, look_up, window
from evidence.changes.names import lookup_region, resource_name
from evidence.changes.throttle import LOOKUP_RATE, Throttles
from evidence.collectors.context import GLOBAL, Cancelled, CollectorContext, RunContext
from evidence.collectors.registry import CHANGES
from evidence.diff.engine import RunDiff, previous_run
from evidence.diff.types import CHANGE_EVENTS, ResourceChange
from evidence.models import Run
from evidence.store import EvidenceStore

_log = logging.getLogger("auditpack.collect")
_ORDER = {ResourceChange.CHANGED: 0, ResourceChange.ADDED: 1, ResourceChange.REMOVED: 2}


@dataclass(frozen=True, slots=True)
class LookupSettings:
    """enabled: look changes up at all; limit: resources per run; concurrency: (account, region) pairs at once."""

    enabled: bool = True
    limit: int = 500
    concurrency: int = 4
    rate: float = LOOKUP_RATE


def _checked_kinds() -> frozenset[str]:
    from evidence.checks.registry import check_functions

    return frozenset(kind for entry in check_functions().values() for kind in entry.kinds)


def candidates(
    store: EvidenceStore, previous: Run, run_id: int, *, accounts: frozenset[str]
) -> list[tuple[Candidate, str]]:
    """Every resource of `accounts` added, removed or changed since `previous` that CloudTrail names, most telling
    first: (candidate, lookup name)."""
    checked = _checked_kinds()
    diff = RunDiff.open(store, previous.id, run_id, accounts=accounts, allow_running=True)
    ranked: list[tuple[tuple[int, int], Candidate, str]] = []
    for resource in diff.resources(include_unchanged=False):
        if resource.change not in _ORDER:
            continue
        name = resource_name(resource.resource_id)
        if name is None:
            continue
        read = any(kind.kind in checked for kind in resource.kinds)
        candidate = Candidate(
            resource.account_id, resource.region, resource.resource_id, resource.resource_type, resource.change.value
        )
        ranked.append(((0 if read else 1, _ORDER[resource.change]), candidate, name))
    ranked.sort(key=lambda entry: entry[0])  # stable: resource order within a rank
    return [(candidate, name) for _, candidate, name in ranked]


def attribute_changes(
    store: EvidenceStore,
    run: Run,
    context: RunContext,
    sessions: Mapping[str, AccountSession],
    *,
    home_region: str,
    settings: LookupSettings,
    now: Callable[[], datetime] = utcnow,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], object] | None = None,
) -> dict[str, Any]:
    """Look up the changes of the running `run` since the previous run; returns the figures for its statistics.
    `now` stamps the lookup window; `clock` and `sleep` drive the token buckets (by default waiting on the run's
    stop event, so a cancelled run does not sit out a wait)."""
    previous = previous_run(store, run)
    if previous is None or not settings.enabled:
        return {"previous_run": previous.id if previous else None, "enabled": settings.enabled}
    context.recorder.flush()  # the collectors' last rows, so the diff reads the whole run
    found = candidates(store, previous, run.id, accounts=frozenset(sessions))
    chosen = found[: settings.limit]
    span = window(previous.started_at, now())
    throttles = Throttles(settings.rate, clock=clock, sleep=sleep or context.stop.wait)
    groups: dict[tuple[str, str], list[tuple[Candidate, str]]] = {}
    for candidate, name in chosen:
        where = lookup_region(candidate.region, home_region=home_region)
        groups.setdefault((candidate.account_id, where), []).append((candidate, name))
    tally = {"looked_up": 0, "with_events": 0, "failed": 0}
    lock = threading.Lock()

    def work(account_id: str, region: str, entries: list[tuple[Candidate, str]]) -> None:
        try:
            session = sessions[account_id]
        except Exception as exc:  # a sharded run enters the account again here: its role may now be refused
            _log.warning("account %s not entered for change lookups: %s", account_id, exc)
            code, message = describe_error(exc)
            for candidate, _ in entries:
                context.add_gap(
                    HeldGap(
                        account_id,
                        candidate.region,
                        "cloudtrail",
                        "LookupEvents",
                        code,
                        message,
                        CHANGE_EVENTS,
                        candidate.resource_id,
                    )
                )
            with lock:
                tally["looked_up"] += len(entries)
                tally["failed"] += len(entries)
            return
        ctx = CollectorContext(context, session, region=GLOBAL, api_region=region, collector=CHANGES)
        bucket = throttles.bucket(account_id, region)
        for candidate, name in entries:
            try:
                count = look_up(ctx, bucket, candidate, name=name, region=region, span=span, since_run=previous.id)
            except Cancelled:
                return
            except Exception as exc:  # a bug or an unreadable answer: a gap for this resource, never a guess
                _log.exception("change lookup of %s failed", candidate.resource_id)
                code, message = describe_error(exc)
                ctx.gap(
                    "cloudtrail.LookupEvents",
                    code,
                    message,
                    kind=CHANGE_EVENTS,
                    resource_id=candidate.resource_id,
                    region=candidate.region,
                )
                count = None
            with lock:
                tally["looked_up"] += 1
                if count is None:
                    tally["failed"] += 1
                elif count:
                    tally["with_events"] += 1

    with ThreadPoolExecutor(max_workers=settings.concurrency, thread_name_prefix="auditpack-changes") as pool:
        futures = [pool.submit(work, a, r, entries) for (a, r), entries in sorted(groups.items())]
        for future in futures:
            future.result()
    return {
        "previous_run": previous.id,
        "enabled": True,
        "window_start": span.start.isoformat(),
        "window_end": span.end.isoformat(),
        "changed_resources": len(found),
        "limit": settings.limit,
        "not_looked_up": len(found) - len(chosen),
        **tally,
    }
