"""IAM (global, read once per account): account summary (root MFA and keys), password policy, credential
report (MFA, password and key ages of every user in one call), customer-managed policies, and the account's
security contact (the Account Management API: whom AWS tells about security issues in the account)."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime
from typing import Any

from evidence.collectors.context import Absent, CollectorContext
from evidence.collectors.registry import Scope, collector

# GetCredentialReport answers these while the report is being generated.
_NOT_READY = ("ReportInProgress", "ReportNotPresent", "ReportExpired")
REPORT_POLLS = 30
ROOT_ROW = "<root_account>"


@collector(
    "iam",
    produces=(
        "account.security_contact",
        "iam.account_summary",
        "iam.credential_report_user",
        "iam.managed_policy",
        "iam.password_policy",
    ),
    domain="iam",
    scope=Scope.GLOBAL,
    calls=(
        "iam.GetAccountSummary",
        "iam.GetAccountPasswordPolicy",
        "iam.GenerateCredentialReport",
        "iam.GetCredentialReport",
        "iam.GetAccountAuthorizationDetails",
        "account.GetAlternateContact",
    ),
)
def collect_iam(ctx: CollectorContext) -> None:
    root = f"arn:aws:iam::{ctx.account_id}:root"
    summary = ctx.call("iam.GetAccountSummary", kind="iam.account_summary", resource_id=root)
    if isinstance(summary, dict):
        ctx.record(kind="iam.account_summary", resource_type="account", resource_id=root, payload=summary, tags={})

    ctx.setting(
        "iam.GetAccountPasswordPolicy",
        kind="iam.password_policy",
        resource_type="password-policy",
        name="iam-password-policy",
        absent={"NoSuchEntity"},
    )
    ctx.setting(
        "account.GetAlternateContact",
        kind="account.security_contact",
        resource_type="alternate-contact",
        name="security-contact",
        absent={"ResourceNotFoundException"},  # no security contact registered: a fact, not a gap
        AlternateContactType="SECURITY",
    )

    details = ctx.paginate_many(
        "iam.GetAccountAuthorizationDetails",
        kind="iam.managed_policy",
        result_keys=("UserDetailList", "Policies"),
        Filter=["User", "LocalManagedPolicy"],
    )
    user_tags: dict[str, Any] = {}
    if details is not None:
        user_tags = {user["Arn"]: user.get("Tags") or [] for user in details["UserDetailList"]}
        for managed in details["Policies"]:
            ctx.record(kind="iam.managed_policy", resource_type="policy", resource_id=managed["Arn"], payload=managed)
        ctx.listing(
            kind="iam.managed_policy",
            call="iam.GetAccountAuthorizationDetails",
            resource_ids=[p["Arn"] for p in details["Policies"]],
        )
    _credential_report(ctx, user_tags)


def _credential_report(ctx: CollectorContext, user_tags: dict[str, Any]) -> None:
    kind = "iam.credential_report_user"
    report: dict[str, Any] | Absent | None = None
    for attempt in range(REPORT_POLLS):
        if ctx.call("iam.GenerateCredentialReport", kind=kind) is None:
            return
        report = ctx.call("iam.GetCredentialReport", kind=kind, absent=_NOT_READY)
        if not isinstance(report, Absent):
            break
        time.sleep(min(2.0, 0.25 * (attempt + 1)))
    if report is None:
        return
    if isinstance(report, Absent):
        ctx.gap("iam.GetCredentialReport", report.code, f"still not ready after {REPORT_POLLS} polls", kind=kind)
        return
    generated = report.get("GeneratedTime")
    observed = generated.astimezone(UTC) if isinstance(generated, datetime) else None
    rows = list(csv.DictReader(io.StringIO(report["Content"].decode("utf-8"))))
    for row in rows:
        ctx.record(
            kind=kind,
            resource_type="root" if row.get("user") == ROOT_ROW else "user",
            resource_id=row["arn"],
            payload={**row, "report_generated_time": generated},
            tags=user_tags.get(row["arn"], {}),
            observed_at=observed,
        )
    ctx.listing(kind=kind, call="iam.GetCredentialReport", resource_ids=[row["arn"] for row in rows])
