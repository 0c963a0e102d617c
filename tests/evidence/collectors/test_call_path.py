"""The one call path (`CollectorContext.call` and `paginate`): AWS calls in flight per account and service never
exceed the bound, whatever the thread pool's size, while other services and accounts go on in parallel; and an
access-denied code a collector expects as a state ("Macie is not enabled.") is told from a policy's refusal."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from moto import mock_aws

from evidence.aws.calls import CallLimits, CallStats
from evidence.aws.scope import CollectionScope
from evidence.aws.session import AccountSession, client_config
from evidence.collectors.context import Absent, CollectorContext, RunContext
from evidence.collectors.registry import Collector, Scope
from evidence.orchestrator import collect
from evidence.owners import OwnerMap
from evidence.store import EvidenceStore
from tests.moto_server import fake_aws_env

REGION = "us-east-1"
PROBE = Collector(
    name="call-path-test",
    domain="test",
    scope=Scope.REGIONAL,
    calls=frozenset({"ec2.DescribeVpcs", "logs.DescribeLogGroups", "macie2.GetMacieSession"}),
    produces=frozenset({"macie.session"}),
    fn=None,
)


class InFlight:
    """Counts calls in flight per (label, service) from botocore's events; each call lingers `hold` seconds, so
    that calls made at the same time overlap."""

    def __init__(self, hold: float) -> None:
        self.hold = hold
        self._lock = threading.Lock()
        self.now: Counter[tuple[str, str]] = Counter()
        self.peak: Counter[tuple[str, str]] = Counter()
        self.total = 0
        self.peak_total = 0

    def watch(self, session: boto3.Session, label: str) -> None:
        def before(model: Any, context: dict[str, Any], **_: Any) -> None:
            key = context["in_flight"] = (label, model.service_model.service_name)
            with self._lock:
                self.now[key] += 1
                self.total += 1
                self.peak[key] = max(self.peak[key], self.now[key])
                self.peak_total = max(self.peak_total, self.total)
            time.sleep(self.hold)

        def after(context: dict[str, Any], **_: Any) -> None:
            with self._lock:
                self.now[context["in_flight"]] -= 1
                self.total -= 1

        session.events.register("before-call", before)
        session.events.register("after-call", after)
        session.events.register("after-call-error", after)


@pytest.fixture
def aws() -> Iterator[None]:
    with fake_aws_env(), mock_aws():
        yield


@contextmanager
def _run_context(store: EvidenceStore, limits: CallLimits) -> Iterator[RunContext]:
    run = store.start_run(trigger="cli", requested_by="tests", scope={})
    with store.recorder(run.id) as recorder:
        yield RunContext(
            recorder=recorder,
            stats=CallStats(),
            owners=OwnerMap(),
            spawn=lambda fn, account, region: fn(),
            stop=threading.Event(),
            limits=limits,
        )


def test_calls_in_flight_never_exceed_the_bound_per_account_and_service(aws: None, sqlite_store: EvidenceStore) -> None:
    watched = InFlight(hold=0.03)
    with _run_context(sqlite_store, CallLimits(2)) as run:
        contexts = []
        for account_id in ("111111111111", "222222222222"):
            session = boto3.Session(region_name=REGION)
            watched.watch(session, account_id)
            account = AccountSession(
                account_id, config=client_config(CollectionScope(), pool_size=32), boto_session=session
            )
            contexts.append(CollectorContext(run, account, region=REGION, api_region=REGION, collector=PROBE))

        def work(ctx: CollectorContext, call: str) -> None:
            if call == "logs.DescribeLogGroups":
                assert ctx.paginate(call, kind="logs.log_group", result_key="logGroups") == []
            else:
                assert isinstance(ctx.call(call, kind="ec2.vpc"), dict)

        jobs = [
            (ctx, call) for ctx in contexts for call in ("ec2.DescribeVpcs", "logs.DescribeLogGroups") for _ in range(8)
        ]
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            list(pool.map(lambda job: work(*job), jobs))
    # each account's EC2 and each account's CloudWatch Logs: at most two calls at once, and the bound was reached
    assert dict(watched.peak) == {
        ("111111111111", "ec2"): 2,
        ("111111111111", "logs"): 2,
        ("222222222222", "ec2"): 2,
        ("222222222222", "logs"): 2,
    }
    assert watched.peak_total > 2  # other services and other accounts were not held back by one bound


def test_a_collection_keeps_to_the_bound(aws: None, sqlite_store: EvidenceStore) -> None:
    watched = InFlight(hold=0.005)
    session = boto3.Session(region_name=REGION)
    session.client("ec2").create_volume(AvailabilityZone=f"{REGION}a", Size=8)
    watched.watch(session, "caller")
    scope = CollectionScope(session=session, regions=(REGION, "eu-west-1"), max_calls_per_service=1)
    run = collect(sqlite_store, scope, trigger="cli", requested_by="t", concurrency=8)
    assert run.stats["max_calls_per_service"] == 1
    assert set(watched.peak.values()) == {1}, watched.peak
    assert watched.peak_total > 1  # eight threads still collect several services at once
    assert run.stats["operations"]["ec2.DescribeVolumes"]["calls"] == 2


def test_an_expected_code_is_a_fact_but_a_policys_refusal_is_a_gap(aws: None, sqlite_store: EvidenceStore) -> None:
    session = boto3.Session(region_name=REGION)
    answers = iter(
        [
            "Macie is not enabled.",
            "User: arn:aws:sts::111111111111:assumed-role/Auditor/s is not authorized to perform: "
            "macie2:GetMacieSession with an explicit deny in a service control policy",
        ]
    )

    class Status:
        status_code = 403

    def answer(**_: Any) -> tuple[Status, dict[str, Any]]:
        error = {"Code": "AccessDeniedException", "Message": next(answers)}
        return Status(), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 403}}

    session.events.register_first("before-call.macie2.GetMacieSession", answer)
    account = AccountSession("111111111111", config=client_config(CollectionScope(), pool_size=4), boto_session=session)
    absent = {"AccessDeniedException"}
    with _run_context(sqlite_store, CallLimits(4)) as run:
        ctx = CollectorContext(run, account, region=REGION, api_region=REGION, collector=PROBE)
        assert ctx.call("macie2.GetMacieSession", kind="macie.session", absent=absent) == Absent(
            "AccessDeniedException", "Macie is not enabled."
        )
        assert ctx.call("macie2.GetMacieSession", kind="macie.session", absent=absent) is None
    assert ctx.last_error is not None and "service control policy" in ctx.last_error[1]
    assert run.stats.as_dict()["operations"]["macie2.GetMacieSession"] == {
        **run.stats.as_dict()["operations"]["macie2.GetMacieSession"],
        "calls": 2,
        "errors": 1,
    }
