"""Run a few collectors against one account and region (moto, or a Stubber-wrapped client where moto lacks an API),
seal the run and evaluate it: a collector and the checks reading its evidence, tested together without collecting
the whole estate."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

import boto3
from botocore.client import BaseClient

from evidence.aws.calls import CallStats
from evidence.aws.scope import CollectionScope
from evidence.aws.session import AccountSession, client_config
from evidence.checks.evaluate import evaluate_run
from evidence.checks.types import Finding
from evidence.collectors.context import GLOBAL, CollectorContext, RunContext
from evidence.collectors.registry import SCOPE, collectors
from evidence.models import Run
from evidence.orchestrator import record_account, record_region
from evidence.owners import OwnerMap
from evidence.store import EvidenceRecord, EvidenceStore

REGION = "us-east-1"


def run_collectors(
    store: EvidenceStore,
    session: boto3.Session,
    names: Iterable[str],
    *,
    region: str = REGION,
    clients: Mapping[str, BaseClient] | None = None,
    operations: set[str] | None = None,
) -> Run:
    """Collect with the named collectors only (in `region`), using `clients` (e.g. stubbed ones) where given;
    `operations` receives every operation made ("service.Operation")."""
    account_id = session.client("sts").get_caller_identity()["Account"]
    if operations is not None:
        session.events.register(
            "before-call", lambda model, **_: operations.add(f"{model.service_model.service_name}.{model.name}")
        )
    run = store.start_run(trigger="cli", requested_by="tests", scope={})
    with store.recorder(run.id) as recorder:
        context = RunContext(
            recorder=recorder,
            stats=CallStats(),
            owners=OwnerMap(),
            spawn=lambda fn, account, where: fn(),
            stop=threading.Event(),
        )
        account = AccountSession(account_id, config=client_config(CollectionScope(), pool_size=2), boto_session=session)
        for service, client in (clients or {}).items():
            account.use_client(service, region, client)
        scope = CollectorContext(context, account, region=GLOBAL, api_region=region, collector=SCOPE)
        record_account(scope, account)
        record_region(scope, region, "opt-in-not-required")
        for name in names:
            entry = collectors()[name]
            ctx = CollectorContext(
                context, account, region=region, api_region=region, collector=entry, account_regions=(region,)
            )
            ctx.guard(entry.fn, ctx)
    return store.finish_run(run.id)


def findings_of(store: EvidenceStore, run: Run, check_id: str) -> list[Finding]:
    return [f for f in evaluate_run(store, run.id) if f.check_id == check_id]


def evidence_of(store: EvidenceStore, run: Run, kind: str) -> list[EvidenceRecord]:
    return list(store.iter_evidence(run.id, kinds=[kind]))


def refuse(session: boto3.Session, operation: str, code: str = "AccessDeniedException") -> None:
    """Make every call of `operation` ("service.Operation", e.g. "inspector2.ListFindings") on clients made from
    `session` fail with `code`, as AWS does for a role that lacks the permission."""
    service, _, name = operation.partition(".")

    class Answer:
        status_code = 400

    def answer(**_: Any) -> tuple[Answer, dict[str, Any]]:
        error = {"Code": code, "Message": f"User is not authorized to perform: {operation}"}
        return Answer(), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400, "RetryAttempts": 0}}

    # botocore event names use the service id (hyphenated), which equals the client name for these services.
    session.events.register_first(f"before-call.{service}.{name}", answer)
