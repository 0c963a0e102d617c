"""Run a few collectors against one account (moto in-process, some clients optionally wrapped in botocore's
Stubber) and evaluate the run: collector and check tests without building the whole scenario estate."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.client import BaseClient

from evidence.aws.calls import CallStats
from evidence.aws.scope import CollectionScope
from evidence.aws.session import AccountSession, client_config
from evidence.checks.evaluate import evaluate_run
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import Finding
from evidence.collectors.context import GLOBAL, CollectorContext, RunContext
from evidence.collectors.registry import SCOPE, Scope, collectors
from evidence.models import Run
from evidence.orchestrator import record_account, record_region
from evidence.owners import OwnerMap
from evidence.store import EvidenceRecord, EvidenceStore

REGION = "us-east-1"


def collect_account(
    store: EvidenceStore,
    session: boto3.Session,
    names: Iterable[str],
    *,
    regions: tuple[str, ...] = (REGION,),
    clients: Mapping[tuple[str, str], BaseClient] | None = None,
) -> Run:
    """Collect the collectors `names` in the session's account (regional ones in every region) and seal the run.
    `clients`: prepared clients by (service, region), e.g. wrapped in a Stubber for an API moto lacks."""
    account = session.client("sts").get_caller_identity()["Account"]
    run = store.start_run(trigger="cli", requested_by="tests", scope={})
    with store.recorder(run.id) as recorder:
        context = RunContext(
            recorder=recorder,
            stats=CallStats(),
            owners=OwnerMap(),
            spawn=lambda fn, a, r: fn(),
            stop=threading.Event(),
        )
        member = AccountSession(account, config=client_config(CollectionScope(), pool_size=2), boto_session=session)
        for (service, region), client in (clients or {}).items():
            member.use_client(service, region, client)
        scope = CollectorContext(context, member, region=GLOBAL, api_region=REGION, collector=SCOPE)
        record_account(scope, member)
        for region in regions:
            record_region(scope, region, "opt-in-not-required")
        for name in names:
            entry = collectors()[name]
            for region in (GLOBAL,) if entry.scope is Scope.GLOBAL else regions:
                ctx = CollectorContext(
                    context,
                    member,
                    region=region,
                    api_region=REGION if region == GLOBAL else region,
                    collector=entry,
                    account_regions=regions,
                )
                ctx.guard(entry.fn, ctx)
    return store.finish_run(run.id)


def findings(store: EvidenceStore, run: Run, check_id: str, thresholds: Thresholds | None = None) -> list[Finding]:
    return [f for f in evaluate_run(store, run.id, thresholds=thresholds) if f.check_id == check_id]


def evidence(store: EvidenceStore, run: Run, kind: str) -> list[EvidenceRecord]:
    return list(store.iter_evidence(run.id, kinds={kind}))


def deny(session: boto3.Session, service_id: str, operation: str, code: str = "AccessDeniedException") -> None:
    """Make every `operation` of `service_id` made through `session` (and the clients it creates) answer `code`,
    as AWS does when the role lacks the permission."""

    def answer(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        error = {"Code": code, "Message": f"not authorized to perform {operation} (denied by the test)"}
        return AWSResponse("https://denied.invalid", 400, {}, None), {"Error": error, "ResponseMetadata": {}}

    session.events.register_first(f"before-call.{service_id}.{operation}", answer)
