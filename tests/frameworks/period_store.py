"""A month of nightly captures made at controlled times (the store's clock is injectable), small enough to build
per test: one S3 bucket, judged by the real checks, whose default encryption is removed on days 3-21; a catalog
`ops` over it; an exception covering days 5-10 for one control and a policy valid on days 8-15 for another.

Day 17 has no usable capture (its only run failed); day 25 has two runs (02:00 and 14:00). Days 1-10 are left
unevaluated when recorded: reading the period must evaluate them (as a run sealed by a process that stopped
before storing its findings is evaluated where it is read).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine

from evidence.checks.evaluate import evaluate_run
from evidence.checks.registry import check_ids
from evidence.checks.thresholds import Thresholds
from evidence.customer import service
from evidence.customer.policy import Actor, CustomerPolicy, Role
from evidence.findings import finding_set, save_findings
from evidence.models import Run, RunStatus
from evidence.store import EvidenceStore
from frameworks.schema import Catalog

FIRST = date(2026, 4, 1)
DAYS = 30
LAST = FIRST + timedelta(days=DAYS - 1)
FAILING = range(3, 22)  # days the bucket has no default encryption
MISSED = 17  # the nightly run failed: no capture
SECOND = 25  # a second run at 14:00
EXCEPTED = range(5, 11)  # the exception for control E2 covers these days
POLICY = range(8, 16)  # the policy supporting P1 is valid on these days
ACCOUNT = "111111111111"
BUCKET = "arn:aws:s3:::phi-records"
ALICE = Actor("alice@example.com", Role.OFFICER)
BOB = Actor("bob@example.com", Role.OFFICER)


def day(n: int) -> date:
    return FIRST + timedelta(days=n - 1)


def at(n: int, hour: int = 2) -> datetime:
    return datetime.combine(day(n), time(hour), tzinfo=UTC)


def catalog_data() -> dict[str, Any]:
    encryption = [{"id": "s3.default_encryption", "relevance": "buckets encrypt what they store"}]
    return {
        "id": "ops",
        "name": "Operations test framework",
        "version": "1",
        "publisher": "tests",
        "families": [
            {"id": "F1", "title": "Encryption"},
            {"id": "F2", "title": "Policies"},
            {"id": "F3", "title": "Facilities"},
        ],
        "controls": [
            {
                "id": "E1",
                "family": "F1",
                "title": "Encrypt stored data",
                "description": "Buckets encrypt by default.",
                "automation": "automated",
                "responsibility": {"default": "customer"},
                "checks": encryption,
            },
            {
                "id": "E2",
                "family": "F1",
                "title": "Encrypt stored data, risk accepted for a while",
                "description": "Buckets encrypt by default.",
                "automation": "automated",
                "responsibility": {"default": "customer"},
                "checks": encryption,
            },
            {
                "id": "P1",
                "family": "F2",
                "title": "Security policy",
                "description": "A security policy is approved and in force.",
                "automation": "manual",
                "responsibility": {"default": "customer"},
                "guidance": "upload the approved policy",
            },
            {
                "id": "I1",
                "family": "F3",
                "title": "Data centre",
                "description": "Physical security of the data centres.",
                "automation": "inherited",
                "responsibility": {"default": "aws"},
                "aws_evidence": [{"name": "AWS SOC 2 Type II report", "covers": "AWS's data centres"}],
            },
        ],
    }


def catalog() -> Catalog:
    return Catalog.model_validate(catalog_data())


def write_catalog(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "ops.yaml"
    path.write_text(yaml.safe_dump(catalog_data(), sort_keys=False))
    return directory


def policy() -> CustomerPolicy:
    return CustomerPolicy(
        known_controls=frozenset(f"ops:{c['id']}" for c in catalog_data()["controls"]), known_checks=check_ids()
    )


def record_capture(
    engine: Engine, when: datetime, *, encrypted: bool, status: RunStatus | None = None, evaluate: bool = True
) -> Run:
    """One nightly run at `when`: the bucket listing, the bucket and its encryption configuration."""
    store = EvidenceStore(engine, clock=lambda: when)
    run = store.start_run(trigger="schedule", requested_by="scheduler", scope={"accounts": [ACCOUNT]})
    rules = [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}] if encrypted else []
    with store.recorder(run.id) as recorder:
        recorder.add(
            account_id=ACCOUNT,
            region="us-east-1",
            service="s3",
            resource_type="s3.bucket",
            resource_id=f"{ACCOUNT}/us-east-1/s3.bucket",
            kind="listing",
            payload={
                "account_id": ACCOUNT,
                "region": "us-east-1",
                "kind": "s3.bucket",
                "operation": "s3.ListBuckets",
                "count": 1,
                "resource_ids": [BUCKET],
            },
        )
        recorder.add(
            account_id=ACCOUNT,
            region="us-east-1",
            service="s3",
            resource_type="bucket",
            resource_id=BUCKET,
            kind="s3.bucket",
            payload={"Name": "phi-records", "BucketRegion": "us-east-1"},
        )
        recorder.add(
            account_id=ACCOUNT,
            region="us-east-1",
            service="s3",
            resource_type="bucket",
            resource_id=BUCKET,
            kind="s3.bucket_encryption",
            payload={"ServerSideEncryptionConfiguration": {"Rules": rules}},
        )
    sealed = store.finish_run(run.id, status=status)
    if evaluate and sealed.status in (RunStatus.COMPLETE.value, RunStatus.PARTIAL.value):
        save_findings(store, run.id, evaluate_run(store, run.id, thresholds=Thresholds()), thresholds=Thresholds())
    return sealed


@dataclass(frozen=True)
class Month:
    engine: Engine
    url: str
    runs: dict[tuple[int, int], Run]  # (day, hour) -> run
    failed_run: Run
    exception_id: int
    policy_id: int
    unevaluated: tuple[int, ...]  # runs recorded without their findings (days 1-10)


def build_month(engine: Engine, url: str) -> Month:
    runs: dict[tuple[int, int], Run] = {}
    failed: Run | None = None
    for n in range(1, DAYS + 1):
        if n == MISSED:
            failed = record_capture(engine, at(n), encrypted=False, status=RunStatus.FAILED)
            continue
        runs[(n, 2)] = record_capture(engine, at(n), encrypted=n not in FAILING, evaluate=n > 10)
        if n == SECOND:
            runs[(n, 14)] = record_capture(engine, at(n, 14), encrypted=True)
    assert failed is not None
    rules = policy()
    exception = service.request_exception(
        engine,
        policy=rules,
        actor=ALICE,
        justification="The bucket is being re-keyed; the replacement key is rolled out within the week.",
        compensating="Bucket policy denies every principal except the re-keying role.",
        expires_at=datetime.combine(day(EXCEPTED[-1] + 1), time.min, tzinfo=UTC),
        control="ops:E2",
        now=at(EXCEPTED[0] - 1, 12),
    )
    service.approve_exception(
        engine, exception_id=exception.id, actor=BOB, now=datetime.combine(day(EXCEPTED[0]), time.min, tzinfo=UTC)
    )
    document = service.submit_document(
        engine,
        policy=rules,
        actor=ALICE,
        stream=io.BytesIO(b"Information security policy, approved by the board.\n"),
        title="Information security policy",
        controls=["ops:P1"],
        owner="CISO",
        filename="policy.txt",
        valid_from=datetime.combine(day(POLICY[0]), time.min, tzinfo=UTC),
        valid_until=datetime.combine(day(POLICY[-1] + 1), time.min, tzinfo=UTC),
        now=at(POLICY[0] - 1, 9),
    )
    service.approve(engine, item_id=document.id, actor=BOB, now=at(POLICY[0] - 1, 10))
    store = EvidenceStore(engine)
    unevaluated = tuple(run.id for run in runs.values() if finding_set(store, run.id) is None)
    assert len(unevaluated) == 10
    return Month(
        engine=engine,
        url=url,
        runs=runs,
        failed_run=failed,
        exception_id=exception.id,
        policy_id=document.id,
        unevaluated=unevaluated,
    )


def period() -> tuple[datetime, datetime]:
    return datetime.combine(FIRST, time.min, tzinfo=UTC), datetime.combine(LAST, time.max, tzinfo=UTC)
