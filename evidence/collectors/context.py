"""What a collector works with: clients for its account, a way to call AWS that turns failures into gaps, and
a way to record evidence (redacted, owner-attributed). Collectors never see the recorder or a raw error."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError

from evidence.aws.calls import CallLimits, CallStats, Failed, describe_error, retry_attempts
from evidence.aws.partition import arn, partition_for_region
from evidence.aws.regions import HeldGap, RegionLedger, is_refusal
from evidence.aws.scope import DEFAULT_CALLS_PER_SERVICE
from evidence.aws.session import AccountSession
from evidence.collectors.registry import TAGS, Collector
from evidence.owners import OwnerMap, tag_dict
from evidence.recorder import RunRecorder
from evidence.redaction import redact
from evidence.volatile import steady

GLOBAL = "global"
LISTING = "listing"
_log = logging.getLogger("auditpack.collect")


class UndeclaredCall(AssertionError):
    """A collector called an operation it did not declare: a bug, caught by tests."""


class UndeclaredKind(AssertionError):
    """A collector recorded an evidence kind it did not declare: a bug, caught by tests."""


class Cancelled(Exception):
    """The run is being stopped (Ctrl-C): unwind the task without recording anything more."""


@dataclass(frozen=True, slots=True)
class Absent:
    """An expected 'not configured' answer (e.g. NoSuchBucketPolicy): a fact to record, not a gap."""

    code: str
    message: str

    def payload(self) -> dict[str, Any]:
        return {"NotFound": {"Code": self.code, "Message": self.message}}


def _xform(operation: str) -> str:
    from botocore import xform_name

    return xform_name(operation)


class RunContext:
    """State shared by every task of one run."""

    def __init__(
        self,
        *,
        recorder: RunRecorder,
        stats: CallStats,
        owners: OwnerMap,
        spawn: Callable[[Callable[[], None], str, str], None],
        stop: threading.Event,
        sleep: Callable[[float], object] | None = None,
        limits: CallLimits | None = None,
        ledger: RegionLedger | None = None,
    ) -> None:
        """`sleep`: how a collector waits for AWS (a report being generated); by default on `stop`, so that a
        cancelled run does not sit out the wait. Tests inject one that returns at once.
        `ledger`: where regional tasks' gaps are held until their region is done (the orchestrator then
        records them, or one gap for a region that refused every call); None records every gap at once."""
        self.recorder = recorder
        self.stats = stats
        self.owners = owners
        self.spawn = spawn
        self.stop = stop
        self.sleep = sleep or stop.wait
        self.limits = limits or CallLimits(DEFAULT_CALLS_PER_SERVICE)
        self.ledger = ledger
        self._tags: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
        self._tag_locks: dict[tuple[str, str], threading.Lock] = {}
        self._lock = threading.Lock()

    def add_gap(self, gap: HeldGap) -> None:
        self.recorder.add_gap(
            account_id=gap.account_id,
            region=gap.region,
            service=gap.service,
            operation=gap.operation,
            error_code=gap.error_code,
            message=gap.message,
            kind=gap.kind,
            resource_id=gap.resource_id,
        )
        self.stats.gap(gap.account_id, gap.region)

    def tags_for(self, account: AccountSession, region: str, arn: str) -> dict[str, str]:
        """A resource's tags from the region's Resource Groups Tagging index (one paginated call per region,
        made by whichever collector needs it first). Tags are used for owner attribution, never stored."""
        key = (account.account_id, region)
        with self._lock:
            lock = self._tag_locks.setdefault(key, threading.Lock())
        with lock:
            index = self._tags.get(key)
            if index is None:
                index = self._load_tags(account, region)
                self._tags[key] = index
        return index.get(arn, {})

    def _load_tags(self, account: AccountSession, region: str) -> dict[str, dict[str, str]]:
        ctx = CollectorContext(self, account, region=region, api_region=region, collector=TAGS)
        mappings = ctx.paginate(
            "resourcegroupstaggingapi.GetResources", kind="tags", result_key="ResourceTagMappingList"
        )
        return {m["ResourceARN"]: tag_dict(m.get("Tags")) for m in mappings or [] if "ResourceARN" in m}


class CollectorContext:
    """One collector's view of one account and region (``region == "global"`` for global collectors)."""

    def __init__(
        self,
        run: RunContext,
        account: AccountSession,
        *,
        region: str,
        api_region: str,
        collector: Collector,
        account_regions: tuple[str, ...] = (),
    ) -> None:
        self.run = run
        self.account_regions = account_regions  # every region collected in this account
        self.account = account
        self.account_id = account.account_id
        self.region = region
        self.api_region = api_region
        self.collector = collector
        self.last_error: tuple[str, str] | None = None  # (code, message) of the latest gap recorded here

    @property
    def partition(self) -> str:
        """The partition of the region called (a global collector calls the home region, whose partition the
        whole run is in: role ARNs cannot cross partitions)."""
        return partition_for_region(self.api_region)

    def arn(self, service: str, resource: str, *, region: str | None = None, account: str | None = None) -> str:
        """An ARN in this context's partition; region and account default to this context's (the region to ""
        for a global collector). Pass "" for a part the service leaves empty (S3 bucket ARNs)."""
        where = region if region is not None else ("" if self.region == GLOBAL else self.region)
        return arn(self.partition, service, where, self.account_id if account is None else account, resource)

    # -- calling AWS --------------------------------------------------------------------------------------

    def client(self, service: str, region: str | None = None) -> BaseClient:
        return self.account.client(service, region or self.api_region)

    def _check(self, call: str) -> tuple[str, str]:
        if self.run.stop.is_set():
            raise Cancelled()
        if call not in self.collector.calls:
            raise UndeclaredCall(f"collector {self.collector.name} calls {call} without declaring it")
        service, _, operation = call.partition(".")
        return service, operation

    def call(
        self,
        call: str,
        *,
        kind: str,
        resource_id: str | None = None,
        absent: Collection[str] = (),
        region: str | None = None,
        gap_region: str | None = None,
        **params: Any,
    ) -> dict[str, Any] | Absent | None:
        """Make one API call. Returns the response (without ResponseMetadata), an `Absent` for an error code
        listed in `absent`, or None after recording a gap (any other failure that survived retries, and a code in
        `absent` that is a policy's refusal, not the service's answer)."""
        answer = self._invoke(call, region, params, expected=absent)
        if isinstance(answer, Failed):
            if _expected(answer, absent):
                return Absent(answer.code, answer.message)
            self.gap(call, answer.code, answer.message, kind=kind, resource_id=resource_id, region=gap_region)
            return None
        return answer

    def attempt(self, call: str, *, region: str | None = None, **params: Any) -> dict[str, Any] | Failed:
        """Make one API call whose failure is not a gap by itself (a probe): the response, or the failure for the
        caller to judge and record as it sees fit."""
        return self._invoke(call, region, params, expected=())

    def _invoke(
        self, call: str, region: str | None, params: dict[str, Any], *, expected: Collection[str]
    ) -> dict[str, Any] | Failed:
        service, operation = self._check(call)
        client = self.client(service, region)
        with self.run.limits.slot(self.account_id, service):
            started = time.monotonic()
            try:
                response = getattr(client, _xform(operation))(**params)
            except (ClientError, BotoCoreError, NotImplementedError) as exc:
                failure = Failed(call, *describe_error(exc))
                self._count(call, started, retry_attempts(exc), failed=not _expected(failure, expected))
                return failure
        self._count(call, started, retry_attempts(response), failed=False)
        response.pop("ResponseMetadata", None)
        return response

    def paginate(
        self,
        call: str,
        *,
        kind: str,
        result_key: str,
        resource_id: str | None = None,
        region: str | None = None,
        gap_region: str | None = None,
        **params: Any,
    ) -> list[Any] | None:
        """Every item of a paginated listing, or None after recording a gap. All or nothing: a listing that
        failed on page 3 is not a complete listing, and only a complete one may prove that something is absent."""
        items: list[Any] = []
        ok = self._pages(
            call,
            lambda page: items.extend(page.get(result_key) or []),
            kind=kind,
            resource_id=resource_id,
            region=region,
            gap_region=gap_region,
            params=params,
        )
        return items if ok else None

    def paginate_many(
        self, call: str, *, kind: str, result_keys: tuple[str, ...], **params: Any
    ) -> dict[str, list[Any]] | None:
        """Like `paginate`, for operations whose pages carry several lists (e.g. GetAccountAuthorizationDetails)."""
        out: dict[str, list[Any]] = {key: [] for key in result_keys}

        def take(page: dict[str, Any]) -> None:
            for key in result_keys:
                out[key].extend(page.get(key) or [])

        ok = self._pages(call, take, kind=kind, resource_id=None, region=None, gap_region=None, params=params)
        return out if ok else None

    def _pages(
        self,
        call: str,
        take: Callable[[dict[str, Any]], None],
        *,
        kind: str,
        resource_id: str | None,
        region: str | None,
        gap_region: str | None,
        params: dict[str, Any],
    ) -> bool:
        service, operation = self._check(call)
        client = self.client(service, region)
        pages = iter(client.get_paginator(_xform(operation)).paginate(**params))
        slot = self.run.limits.slot(self.account_id, service)
        while True:
            started = time.monotonic()
            try:
                with slot:  # held for one page's request, not while the caller handles it
                    page = next(pages)
            except StopIteration:
                return True
            except (ClientError, BotoCoreError, NotImplementedError) as exc:
                code, message = describe_error(exc)
                self._count(call, started, retry_attempts(exc), failed=True)
                self.gap(call, code, message, kind=kind, resource_id=resource_id, region=gap_region)
                return False
            self._count(call, started, retry_attempts(page), failed=False)
            take(page)
            if self.run.stop.is_set():
                raise Cancelled()

    def _count(self, call: str, started: float, retries: int, *, failed: bool) -> None:
        if not failed and self.run.ledger is not None and self.region != GLOBAL:
            self.run.ledger.answered(self.account_id, self.region)
        self.run.stats.call(
            call,
            seconds=time.monotonic() - started,
            retries=retries,
            failed=failed,
            account=self.account_id,
            region=self.region,
        )

    def wait(self, seconds: float) -> None:
        """Wait before asking AWS again (polling); a run stopped meanwhile unwinds the task."""
        self.run.sleep(seconds)
        if self.run.stop.is_set():
            raise Cancelled()

    # -- recording --------------------------------------------------------------------------------------------

    def gap(
        self,
        call: str,
        error_code: str,
        message: str,
        *,
        kind: str,
        resource_id: str | None = None,
        region: str | None = None,
        account_id: str | None = None,
    ) -> None:
        service, _, operation = call.partition(".")
        account = account_id or self.account_id
        self.last_error = (error_code, message)
        gap = HeldGap(account, region or self.region, service, operation, error_code, message, kind, resource_id)
        if self._holds(account, kind):
            assert self.run.ledger is not None
            self.run.ledger.hold(self.account_id, self.region, gap)
        else:
            self.run.add_gap(gap)

    def _holds(self, account_id: str, kind: str) -> bool:
        """A regional task's own gaps wait for the region's verdict; region-level gaps are that verdict."""
        return (
            self.run.ledger is not None
            and self.region != GLOBAL
            and account_id == self.account_id
            and kind != "collection.region"
        )

    def record(
        self,
        *,
        kind: str,
        resource_type: str,
        resource_id: str,
        payload: Any,
        service: str | None = None,
        region: str | None = None,
        tags: Any = None,
        tag_arn: str | None = None,
        observed_at: datetime | None = None,
    ) -> str:
        """Store one evidence item (secrets redacted, volatile values left out, owner attributed); returns its
        sha256. `observed_at` defaults to now; pass it when AWS says when the facts were true (e.g. a credential
        report's age)."""
        if self.run.stop.is_set():
            raise Cancelled()
        if kind != LISTING and kind not in self.collector.produces:
            raise UndeclaredKind(f"collector {self.collector.name} records {kind} without declaring it")
        service = service or kind.split(".", 1)[0]
        where = region or self.region
        if tags is None and tag_arn is not None and where != GLOBAL:
            tags = self.run.tags_for(self.account, where, tag_arn)
        owner = self.run.owners.owner_of(service=service, account_id=self.account_id, tags=tags)
        sha256 = self.run.recorder.add(
            account_id=self.account_id,
            region=where,
            service=service,
            resource_type=resource_type,
            resource_id=resource_id,
            kind=kind,
            payload=steady(kind, redact(payload)),
            owner=owner,
            observed_at=observed_at,
        )
        self.run.stats.evidence(self.account_id, where)
        return sha256

    def setting(
        self, call: str, *, kind: str, resource_type: str, name: str, absent: Collection[str] = (), **params: Any
    ) -> dict[str, Any] | Absent | None:
        """Read an account- or region-wide setting with one call and record the answer (an `Absent` answer as the
        fact that it is not configured) under `setting_id(account, region, name)`; None after a gap."""
        answer = self.call(call, kind=kind, absent=absent, **params)
        if answer is not None:
            self.record(
                kind=kind,
                resource_type=resource_type,
                resource_id=setting_id(self.account_id, self.region, name),
                payload=answer.payload() if isinstance(answer, Absent) else answer,
                tags={},
            )
        return answer

    def listing(self, *, kind: str, call: str, resource_ids: Iterable[str], region: str | None = None) -> str:
        """Record that a listing completed, with what it found: the proof that anything else is absent, and
        the inventory's count."""
        if kind not in self.collector.produces:
            raise UndeclaredKind(f"collector {self.collector.name} lists {kind} without declaring it")
        ids = sorted(set(resource_ids))
        where = region or self.region
        return self.record(
            kind=LISTING,
            resource_type=kind,
            resource_id=listing_id(self.account_id, where, kind),
            payload={
                "account_id": self.account_id,
                "region": where,
                "kind": kind,
                "operation": call,
                "count": len(ids),
                "resource_ids": ids,
            },
            service=kind.split(".", 1)[0],
            region=where,
            tags={},
        )

    def spawn(self, fn: Callable[..., None], *args: Any) -> None:
        """Run `fn(*args)` as a separate task of the pool (per-resource fan-out for large accounts)."""
        self.run.spawn(lambda: self.guard(fn, *args), self.account_id, self.region)

    def guard(self, fn: Callable[..., None], *args: Any) -> None:
        """Run collector code; an unexpected exception (a bug, or an answer we could not read) becomes a gap
        naming the collector, so the run ends partial instead of crashing or passing silently."""
        try:
            fn(*args)
        except Cancelled:
            return
        except Exception as exc:
            _log.exception("collector %s failed in %s/%s", self.collector.name, self.account_id, self.region)
            code, message = describe_error(exc)
            self.gap(
                f"{self.collector.name}.Collect",
                "InternalError" if code == "InternalError" else code,
                message,
                kind=f"collector.{self.collector.name}",
            )


def _expected(failure: Failed, absent: Collection[str]) -> bool:
    return failure.code in absent and not is_refusal(failure)


def listing_id(account_id: str, region: str, kind: str) -> str:
    return f"{account_id}/{region}/{kind}"


def setting_id(account_id: str, region: str, name: str) -> str:
    """Resource id of an account- or region-wide setting that has no ARN, e.g. ``111111111111/us-east-1/guardduty``."""
    return f"{account_id}/{name}" if region == GLOBAL else f"{account_id}/{region}/{name}"
