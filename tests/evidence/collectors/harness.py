"""Run a few collectors against one account and region (moto, or a Stubber-wrapped client where moto lacks an API),
seal the run and evaluate it: a collector and the checks reading its evidence, tested together without collecting
the whole estate.

`collect` does the same and hands back an `Outcome` (evidence by kind, gaps, findings by check). `denied(session,
*actions)` gives a session whose every call is allowed except `actions`: under moto's IAM enforcement those calls
fail with AWS's own AccessDenied answer, the way a role missing a permission fails.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.client import BaseClient

from evidence.aws.calls import CallStats
from evidence.aws.scope import CollectionScope
from evidence.aws.session import AccountSession, client_config
from evidence.checks.evaluate import evaluate_run
from evidence.checks.types import Finding
from evidence.collectors.context import GLOBAL, CollectorContext, RunContext
from evidence.collectors.registry import SCOPE, Scope, collectors
from evidence.models import Gap, Run
from evidence.orchestrator import record_account, record_region
from evidence.owners import OwnerMap
from evidence.store import EvidenceRecord, EvidenceStore

REGION = "us-east-1"
DB = {  # the parameters every planted RDS instance shares
    "DBInstanceClass": "db.t3.micro",
    "Engine": "postgres",
    "MasterUsername": "admin",
    "MasterUserPassword": "not-a-secret-1",
    "AllocatedStorage": 20,
}


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
            where = GLOBAL if entry.scope is Scope.GLOBAL else region  # as the orchestrator runs them
            ctx = CollectorContext(
                context, account, region=where, api_region=region, collector=entry, account_regions=(region,)
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


@dataclass
class Outcome:
    store: EvidenceStore
    run_id: int
    findings: list[Finding]

    def evidence(self, kind: str) -> dict[str, EvidenceRecord]:
        """Stored evidence of `kind` by resource id."""
        return {r.resource_id: r for r in self.store.iter_evidence(self.run_id, kinds={kind})}

    def gaps(self) -> list[Gap]:
        return self.store.gaps(self.run_id)

    def of(self, check_id: str) -> dict[str, Finding]:
        """Findings of `check_id` by the last part of their resource id (after the last '/' or ':')."""
        out = {}
        for finding in self.findings:
            if finding.check_id == check_id:
                out[finding.resource_id.replace(":", "/").rsplit("/", 1)[-1]] = finding
        return out


def collect(store: EvidenceStore, session: boto3.Session, names: Iterable[str], *, region: str = REGION) -> Outcome:
    """`run_collectors`, then every check over the sealed run."""
    run = run_collectors(store, session, names, region=region)
    return Outcome(store=store, run_id=run.id, findings=evaluate_run(store, run.id))


def denied(session: boto3.Session, *actions: str) -> boto3.Session:
    """A session for a user allowed everything but `actions`: create it first, then collect with it inside
    `moto.core.enable_iam_authentication()`."""
    iam = session.client("iam")
    name = "auditor-" + "-".join(a.replace(":", "-") for a in actions)[:40]
    iam.create_user(UserName=name)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": list(actions), "Resource": "*"},
        ],
    }
    iam.put_user_policy(UserName=name, PolicyName="all-but", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return boto3.Session(
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], region_name=REGION
    )


def log_delivery_policy(bucket: str) -> dict[str, Any]:
    """The bucket policy that lets S3 server access logging write into `bucket` (AWS's recommended grant)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "S3ServerAccessLogs",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }
