"""IAM (global, read once per account): account summary (root MFA and keys), password policy, credential
report (MFA, password and key ages of every user in one call), customer-managed policies, the policies attached
to each user, and the account's security contact (the Account Management API: whom AWS tells about security
issues in the account). Also per account: the Organization it belongs to and the IAM Identity Center instances
it can see (how people sign in), and the agreements accepted in AWS Artifact (the HIPAA BAA)."""

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


ORGANIZATION = "organizations.organization"
IDENTITY_CENTER = "sso.instances"
AGREEMENTS = "artifact.customer_agreements"
# The Organization's identity, without the management account's email address (personal data no check needs).
_ORGANIZATION_FIELDS = ("Id", "Arn", "FeatureSet", "MasterAccountArn", "MasterAccountId")


@collector(
    "identity_center",
    produces=(ORGANIZATION, IDENTITY_CENTER),
    domain="iam",
    scope=Scope.GLOBAL,
    calls=("organizations.DescribeOrganization", "sso-admin.ListInstances"),
)
def collect_identity_center(ctx: CollectorContext) -> None:
    """Which Organization the account is in (its management account owns the organization instance of IAM
    Identity Center), and the Identity Center instances visible to the account in every region."""
    organization = ctx.call(
        "organizations.DescribeOrganization",
        kind=ORGANIZATION,
        absent={"AWSOrganizationsNotInUseException"},  # a standalone account: a fact, not a gap
    )
    if organization is not None:
        payload = (
            organization.payload()
            if isinstance(organization, Absent)
            else {key: organization["Organization"].get(key) for key in _ORGANIZATION_FIELDS}
        )
        ctx.record(
            kind=ORGANIZATION,
            resource_type="organization",
            resource_id=setting_id(ctx.account_id, GLOBAL, "organization"),
            payload=payload,
            tags={},
        )
    # Identity Center is regional (an instance lives in the region it was enabled in): ALL_REGIONS lists the
    # instances the account owns or that are shared with it wherever they are, in one call.
    instances = ctx.paginate(
        "sso-admin.ListInstances", kind=IDENTITY_CENTER, result_key="Instances", RegionScope="ALL_REGIONS"
    )
    if instances is not None:
        ctx.record(
            kind=IDENTITY_CENTER,
            resource_type="identity-center-instances",
            resource_id=setting_id(ctx.account_id, GLOBAL, "identity-center"),
            payload={"Instances": instances},
            service="sso",
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
