"""Builders for frameworks tests: findings, gaps, usage and a small catalog that exercises every rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from evidence.checks.types import Finding, FindingStatus, ServiceUsage
from evidence.models import Run, RunStatus
from evidence.store import EvidenceStore
from frameworks.schema import Catalog

AS_OF = datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC)
FRESH = AS_OF - timedelta(hours=2)
ACCOUNT = "111111111111"
# Copies of ../shared/reference (the exact control ids), kept in the repo so the tests run on a fresh clone.
REFERENCE = Path(__file__).parent / "reference"


def finding(
    check_id: str,
    status: str = "pass",
    *,
    resource: str = "r-1",
    region: str = "us-east-1",
    observed_at: datetime | None = FRESH,
    account: str = ACCOUNT,
) -> Finding:
    return Finding(
        check_id=check_id,
        status=FindingStatus(status),
        account_id=account,
        region=region,
        resource_id=resource,
        reason=f"{check_id} {status} on {resource}",
        evidence=("a" * 64,) if status != "error" else (),
        observed_at=observed_at if status != "error" else None,
    )


@dataclass(frozen=True)
class Gap:
    """Has the attributes of a stored gap (evidence.models.Gap) that evaluation reads."""

    service: str
    operation: str = "GetBucketEncryption"
    error_code: str = "AccessDenied"
    message: str = "User is not authorized"
    account_id: str = ACCOUNT
    region: str = "eu-west-1"
    kind: str | None = None
    resource_id: str | None = None


def usage(*services: str) -> ServiceUsage:
    return ServiceUsage(counts={(ACCOUNT, "us-east-1", service): 2 for service in services})


def mini_catalog_data() -> dict[str, Any]:
    """H (heading) over A (automated: S3 and RDS checks), P (partial: account-wide check) and M (manual);
    I inherited; X automated but only in the optional scope 'extra'."""
    aws_soc2 = [{"name": "AWS SOC 2 Type II report", "covers": "AWS's part"}]
    return {
        "id": "mini",
        "name": "Mini framework",
        "version": "1",
        "publisher": "tests",
        "families": [{"id": "F1", "title": "First"}, {"id": "F2", "title": "Second"}, {"id": "F3", "title": "Third"}],
        "scopes": [
            {"id": "base", "title": "Base", "always": True},
            {"id": "extra", "title": "Extra"},
        ],
        "controls": [
            {
                "id": "H",
                "family": "F1",
                "heading": True,
                "title": "Heading",
                "description": "d",
                "responsibility": {"default": "customer"},
            },
            {
                "id": "A",
                "family": "F1",
                "parent": "H",
                "title": "Encrypt",
                "description": "d",
                "automation": "automated",
                "responsibility": {"default": "customer", "s3": "shared", "rds": "customer"},
                "aws_evidence": aws_soc2,
                "checks": [
                    {"id": "s3.default_encryption", "relevance": "r"},
                    {"id": "rds.storage_encrypted", "relevance": "r"},
                ],
            },
            {
                "id": "P",
                "family": "F1",
                "parent": "H",
                "title": "Root",
                "description": "d",
                "automation": "partial",
                "responsibility": {"default": "customer"},
                "guidance": "show the break-glass procedure",
                "checks": [{"id": "iam.root_mfa_enabled", "relevance": "r"}],
            },
            {
                "id": "M",
                "family": "F1",
                "parent": "H",
                "title": "Policy",
                "description": "d",
                "automation": "manual",
                "responsibility": {"default": "customer"},
                "guidance": "upload the policy",
            },
            {
                "id": "I",
                "family": "F2",
                "title": "Data centre",
                "description": "d",
                "automation": "inherited",
                "responsibility": {"default": "aws"},
                "aws_evidence": aws_soc2,
            },
            {
                "id": "X",
                "family": "F3",
                "scope": "extra",
                "title": "Detect",
                "description": "d",
                "automation": "automated",
                "responsibility": {"default": "customer"},
                "checks": [{"id": "guardduty.enabled", "relevance": "r"}],
            },
        ],
    }


def mini_catalog() -> Catalog:
    return Catalog.model_validate(mini_catalog_data())


def record_run(engine: Engine, at: datetime, *, status: RunStatus | None = None, gap: bool = False) -> Run:
    """A real run in the store at time `at`: one S3 bucket's encryption and the root account summary."""
    store = EvidenceStore(engine, clock=lambda: at)
    run = store.start_run(trigger="schedule", requested_by="tests", scope={"accounts": [ACCOUNT]})
    with store.recorder(run.id) as recorder:
        recorder.add(
            account_id=ACCOUNT,
            region="us-east-1",
            service="s3",
            resource_type="bucket",
            resource_id="arn:aws:s3:::phi-bucket",
            kind="s3.bucket_encryption",
            payload={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]},
        )
        recorder.add(
            account_id=ACCOUNT,
            region="global",
            service="iam",
            resource_type="account",
            resource_id=f"arn:aws:iam::{ACCOUNT}:root",
            kind="iam.account_summary",
            payload={"AccountMFAEnabled": 1},
        )
        if gap:
            recorder.add_gap(
                account_id=ACCOUNT,
                region="eu-west-1",
                service="s3",
                operation="ListBuckets",
                error_code="AccessDenied",
                message="not authorized",
                kind="s3.bucket_encryption",
            )
    return store.finish_run(run.id, status=status)
