"""IAM (global, read once per account): account summary (root MFA and keys), password policy, credential
report (MFA, password and key ages of every user in one call), customer-managed policies, the policies attached
to each user, and the account's security contact (the Account Management API: whom AWS tells about security
issues in the account). Also per account: the roles IAM Identity Center provisioned in it (how people sign in),
and the agreements accepted in AWS Artifact (the HIPAA BAA). Per region: Secrets Manager secrets (their rotation,
never their values)."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime
from typing import Any

from evidence.collectors.context import GLOBAL, Absent, CollectorContext, setting_id
from evidence.collectors.registry import Scope, collector

# GetCredentialReport answers these while the report is being generated.
_NOT_READY = ("ReportInProgress", "ReportNotPresent", "ReportExpired")
REPORT_POLLS = 30
ROOT_ROW = "<root_account>"
USER_POLICIES = "iam.user"
# What a user's entry in GetAccountAuthorizationDetails says about its permissions (tags go to owner attribution).
_USER_FIELDS = (
    "UserName",
    "UserId",
    "Arn",
    "Path",
    "GroupList",
    "AttachedManagedPolicies",
    "UserPolicyList",
    "PermissionsBoundary",
)


@collector(
    "iam",
    produces=(
        "account.security_contact",
        "iam.account_summary",
        "iam.credential_report_user",
        "iam.managed_policy",
        "iam.password_policy",
        "iam.user",
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
    if details is None:
        # One failed call loses two kinds of evidence: the users' policies are missing too, and must say why.
        code, message = ctx.last_error or ("UnknownError", "")
        ctx.gap("iam.GetAccountAuthorizationDetails", code, message, kind=USER_POLICIES)
    else:
        user_tags = {user["Arn"]: user.get("Tags") or [] for user in details["UserDetailList"]}
        for user in details["UserDetailList"]:
            ctx.record(
                kind=USER_POLICIES,
                resource_type="user",
                resource_id=user["Arn"],
                payload={key: user.get(key) for key in _USER_FIELDS},
                tags=user_tags[user["Arn"]],
            )
        ctx.listing(kind=USER_POLICIES, call="iam.GetAccountAuthorizationDetails", resource_ids=list(user_tags))
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


IDENTITY_CENTER_ROLES = "iam.identity_center_roles"
AGREEMENTS = "artifact.customer_agreements"
# IAM Identity Center provisions, in every account a permission set is assigned to, a role named
# AWSReservedSSO_<permission set>_<id> under this path, which no one else may create roles under.
IDENTITY_CENTER_PATH = "/aws-reserved/sso.amazonaws.com/"


@collector(
    "identity_center",
    produces=(IDENTITY_CENTER_ROLES,),
    domain="iam",
    scope=Scope.GLOBAL,
    calls=("iam.ListRoles",),
)
def collect_identity_center(ctx: CollectorContext) -> None:
    """The roles IAM Identity Center provisioned in the account: how people reach it through Identity Center.
    (The Identity Center instance itself is visible only from the management or delegated administrator
    account; these roles are what each account holds of it.)"""
    roles = ctx.paginate(
        "iam.ListRoles", kind=IDENTITY_CENTER_ROLES, result_key="Roles", PathPrefix=IDENTITY_CENTER_PATH
    )
    if roles is not None:
        ctx.record(
            kind=IDENTITY_CENTER_ROLES,
            resource_type="identity-center-roles",
            resource_id=setting_id(ctx.account_id, GLOBAL, "identity-center-roles"),
            payload={"Roles": [{k: r.get(k) for k in ("RoleName", "Arn", "Path", "CreateDate")} for r in roles]},
            tags={},
        )


# The agreement's identity and state; its acceptance and termination terms are long legal text no check reads.
_AGREEMENT_FIELDS = (
    "name",
    "arn",
    "id",
    "agreementArn",
    "awsAccountId",
    "organizationArn",
    "effectiveStart",
    "effectiveEnd",
    "state",
    "type",
    "description",
)


@collector(
    "artifact",
    produces=(AGREEMENTS,),
    domain="iam",
    scope=Scope.GLOBAL,
    calls=("artifact.ListCustomerAgreements",),
)
def collect_artifact(ctx: CollectorContext) -> None:
    """The agreements with AWS accepted in AWS Artifact that apply to the account: its own, and those the
    Organization's management account accepted for every account (the Business Associate Addendum among them)."""
    agreements = ctx.paginate("artifact.ListCustomerAgreements", kind=AGREEMENTS, result_key="customerAgreements")
    if agreements is not None:
        ctx.record(
            kind=AGREEMENTS,
            resource_type="customer-agreements",
            resource_id=setting_id(ctx.account_id, GLOBAL, "artifact-agreements"),
            payload={"customerAgreements": [{k: a.get(k) for k in _AGREEMENT_FIELDS if k in a} for a in agreements]},
            tags={},
        )


@collector(
    "secretsmanager",
    produces=("secretsmanager.secret",),
    domain="iam",
    scope=Scope.REGIONAL,
    calls=("secretsmanager.ListSecrets",),
)
def collect_secrets(ctx: CollectorContext) -> None:
    """Secrets Manager secrets as ListSecrets describes them (rotation switch, schedule, last and next rotation).
    Never GetSecretValue: a secret's value is not evidence of anything auditpack checks."""
    secrets = ctx.paginate("secretsmanager.ListSecrets", kind="secretsmanager.secret", result_key="SecretList")
    if secrets is None:
        return
    for secret in secrets:
        arn = secret["ARN"]
        # Recorded as the entry itself (a wrapping key named like a secret would be redacted whole).
        ctx.record(
            kind="secretsmanager.secret",
            resource_type="secret",
            resource_id=arn,
            payload=secret,
            tags=secret.get("Tags") or [],
        )
    ctx.listing(
        kind="secretsmanager.secret", call="secretsmanager.ListSecrets", resource_ids=[s["ARN"] for s in secrets]
    )
