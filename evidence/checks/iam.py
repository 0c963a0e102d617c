"""IAM checks: root user, password policy, users' MFA, key rotation, unused credentials, admin policies, the
account's registered security contact, policies attached to users, privilege-escalation actions, and human access
through IAM Identity Center."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from evidence.checks._account import about_account, account_arn
from evidence.checks._escalation import escalations
from evidence.checks.registry import check
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import Finding
from evidence.checks.unit import Check, Unavailable, each, per_account
from evidence.checks.verdicts import (
    ERROR,
    FAIL,
    NA,
    PASS,
    coverage_errors,
    gap_error,
    missing_error,
    setting_id,
    verdict,
)
from evidence.checks.view import GLOBAL, EvidenceView
from evidence.store import EvidenceRecord

SUMMARY, POLICY, USER, MANAGED = (
    "iam.account_summary",
    "iam.password_policy",
    "iam.credential_report_user",
    "iam.managed_policy",
)
ROOT_ROW = "<root_account>"
CONTACT = "account.security_contact"


def _root(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:root"


def _account_setting(
    view: EvidenceView, check_id: str, kind: str, account_id: str, resource_id: str, resource_type: str, what: str
) -> EvidenceRecord | Finding:
    record = view.one(kind, account_id, resource_id)
    if record is not None:
        return record
    gaps = view.gaps(kind, account_id=account_id) or view.collector_gaps(account_id, GLOBAL)
    if gaps:
        return gap_error(
            check_id,
            gaps[0],
            resource_id=resource_id,
            resource_type=resource_type,
            region=GLOBAL,
            account_id=account_id,
        )
    return missing_error(
        check_id, account_id=account_id, region=GLOBAL, resource_id=resource_id, resource_type=resource_type, what=what
    )


def _summary_check(
    view: EvidenceView, check_id: str, field: str, good: int, passing: str, failing: str
) -> Iterator[Finding]:
    for account_id in view.accounts():
        record = _account_setting(
            view, check_id, SUMMARY, account_id, _root(account_id), "account", "IAM account summary"
        )
        if isinstance(record, Finding):
            yield record
            continue
        value = record.payload.get("SummaryMap", {}).get(field)
        if value is None:
            yield verdict(check_id, ERROR, record, f"the account summary has no {field}")
        else:
            yield verdict(check_id, PASS if value == good else FAIL, record, passing if value == good else failing)


@check("iam.root_mfa_enabled", kinds=(SUMMARY,), regional=False)
def root_mfa_enabled(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    yield from _summary_check(
        view,
        "iam.root_mfa_enabled",
        "AccountMFAEnabled",
        1,
        "the root user has MFA enabled",
        "the root user has no MFA device",
    )


@check("iam.root_access_keys_absent", kinds=(SUMMARY,), regional=False)
def root_access_keys_absent(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    yield from _summary_check(
        view,
        "iam.root_access_keys_absent",
        "AccountAccessKeysPresent",
        0,
        "the root user has no access keys",
        "the root user has access keys",
    )


def _policy_problems(policy: dict[str, Any], t: Thresholds) -> list[str]:
    problems = []
    length = policy.get("MinimumPasswordLength") or 0
    if length < t.password_min_length:
        problems.append(f"minimum length {length} < {t.password_min_length}")
    for field, label in (
        ("RequireUppercaseCharacters", "upper-case letters"),
        ("RequireLowercaseCharacters", "lower-case letters"),
        ("RequireNumbers", "digits"),
        ("RequireSymbols", "symbols"),
    ):
        if not policy.get(field):
            problems.append(f"{label} not required")
    reuse = policy.get("PasswordReusePrevention") or 0
    if reuse < t.password_reuse_prevention:
        problems.append(f"reuse prevention {reuse} < {t.password_reuse_prevention}")
    max_age = policy.get("MaxPasswordAge")
    if not max_age or max_age > t.password_max_age_days:
        problems.append(f"maximum age {max_age or 'unlimited'} > {t.password_max_age_days} days")
    return problems


@check("iam.password_policy_strong", kinds=(POLICY,), regional=False)
def password_policy_strong(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "iam.password_policy_strong"
    for account_id in view.accounts():
        resource_id = setting_id(account_id, GLOBAL, "iam-password-policy")
        record = _account_setting(view, check_id, POLICY, account_id, resource_id, "password-policy", "password policy")
        if isinstance(record, Finding):
            yield record
        elif "NotFound" in record.payload:
            yield verdict(check_id, FAIL, record, "the account has no password policy (AWS defaults apply)")
        else:
            problems = _policy_problems(record.payload.get("PasswordPolicy", {}), thresholds)
            yield verdict(
                check_id,
                FAIL if problems else PASS,
                record,
                "; ".join(problems) or "the password policy meets every requirement",
            )


@check("account.security_contact_registered", kinds=(CONTACT,), regional=False)
def security_contact_registered(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "account.security_contact_registered"
    for account_id in view.accounts():
        resource_id = setting_id(account_id, GLOBAL, "security-contact")
        record = _account_setting(view, check_id, CONTACT, account_id, resource_id, "alternate-contact", "contact")
        if isinstance(record, Finding):
            yield record
            continue
        if "NotFound" in record.payload:
            reason = "no security contact is registered: AWS sends security notices to the root user's email only"
            yield verdict(check_id, FAIL, record, reason)
        else:  # AWS requires a name, email address and phone number; the reason names no person
            yield verdict(check_id, PASS, record, "a security contact is registered")


def _date(value: str | None) -> datetime | None:
    """Credential report dates; 'N/A', 'no_information' and 'not_supported' mean none."""
    if not value or not value[0].isdigit():
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _users(view: EvidenceView, check_id: str) -> Iterator[EvidenceRecord | Finding]:
    """Every user row of every account's credential report (the root row excluded), or errors in their place."""
    yield from coverage_errors(view, check_id, USER, regional=False, resource_type="user")
    for listed in view.listed(USER):
        record = view.one(USER, listed.account_id, listed.resource_id)
        if record is None:
            yield missing_error(
                check_id,
                account_id=listed.account_id,
                region=GLOBAL,
                resource_id=listed.resource_id,
                resource_type="user",
                what="credential report row",
                evidence=[listed.listing],
            )
        elif record.payload.get("user") != ROOT_ROW:
            yield record


@check("iam.user_mfa_enabled", kinds=(USER,), regional=False)
def user_mfa_enabled(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "iam.user_mfa_enabled"
    for record in _users(view, check_id):
        if isinstance(record, Finding):
            yield record
        elif record.payload.get("password_enabled") != "true":
            yield verdict(check_id, NA, record, "the user has no console password")
        elif record.payload.get("mfa_active") == "true":
            yield verdict(check_id, PASS, record, "the console user has an MFA device")
        else:
            yield verdict(check_id, FAIL, record, "the user has a console password and no MFA device")


def _active_keys(row: dict[str, Any]) -> list[int]:
    return [n for n in (1, 2) if row.get(f"access_key_{n}_active") == "true"]


@check("iam.access_keys_rotated", kinds=(USER,), regional=False)
def access_keys_rotated(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "iam.access_keys_rotated"
    limit = thresholds.access_key_max_age_days
    for record in _users(view, check_id):
        if isinstance(record, Finding):
            yield record
            continue
        keys = _active_keys(record.payload)
        if not keys:
            yield verdict(check_id, NA, record, "the user has no active access key")
            continue
        old, unknown = [], []
        for n in keys:
            rotated = _date(record.payload.get(f"access_key_{n}_last_rotated"))
            if rotated is None:
                unknown.append(f"key {n}")
            elif (now - rotated).days > limit:
                old.append(f"key {n} is {(now - rotated).days} days old")
        if old:
            yield verdict(check_id, FAIL, record, f"{'; '.join(old)} (limit {limit} days)")
        elif unknown:
            yield verdict(
                check_id, ERROR, record, f"the credential report gives no rotation date for {', '.join(unknown)}"
            )
        else:
            yield verdict(check_id, PASS, record, f"every active key is at most {limit} days old")


def _unused(row: dict[str, Any], now: datetime, limit: int) -> tuple[list[str], bool]:
    """(credentials unused for longer than `limit` days, whether the user has any enabled credential)."""
    stale: list[str] = []
    created = _date(row.get("user_creation_time"))
    has_any = False
    if row.get("password_enabled") == "true":
        has_any = True
        last = _date(row.get("password_last_used")) or _date(row.get("password_last_changed")) or created
        if last is not None and (now - last).days > limit:
            used = "last used" if _date(row.get("password_last_used")) else "never used, set"
            stale.append(f"console password {used} {(now - last).days} days ago")
    for n in _active_keys(row):
        has_any = True
        last = (
            _date(row.get(f"access_key_{n}_last_used_date"))
            or _date(row.get(f"access_key_{n}_last_rotated"))
            or created
        )
        if last is not None and (now - last).days > limit:
            used = "last used" if _date(row.get(f"access_key_{n}_last_used_date")) else "never used, created"
            stale.append(f"access key {n} {used} {(now - last).days} days ago")
    return stale, has_any


@check("iam.unused_credentials_disabled", kinds=(USER,), regional=False)
def unused_credentials_disabled(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "iam.unused_credentials_disabled"
    limit = thresholds.credential_unused_days
    for record in _users(view, check_id):
        if isinstance(record, Finding):
            yield record
            continue
        stale, has_any = _unused(record.payload, now, limit)
        if not has_any:
            yield verdict(check_id, NA, record, "the user has no console password and no active access key")
        elif stale:
            yield verdict(check_id, FAIL, record, f"{'; '.join(stale)} (limit {limit} days)")
        else:
            yield verdict(check_id, PASS, record, f"every enabled credential was used within {limit} days")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def grants_full_admin(document: dict[str, Any]) -> bool:
    """Whether a policy document allows every action on every resource."""
    for statement in _as_list(document.get("Statement", [])):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        if "*" in _as_list(statement.get("Action", [])) and "*" in _as_list(statement.get("Resource", [])):
            return True
    return False


def _default_document(policy: dict[str, Any]) -> dict[str, Any] | None:
    for version in policy.get("PolicyVersionList", []):
        if version.get("IsDefaultVersion") or version.get("VersionId") == policy.get("DefaultVersionId"):
            document = version.get("Document")
            return document if isinstance(document, dict) else None
    return None


@check("iam.no_full_admin_policies", kinds=(MANAGED,), regional=False)
def no_full_admin_policies(view: EvidenceView, thresholds: Thresholds, now: datetime) -> Iterator[Finding]:
    check_id = "iam.no_full_admin_policies"
    yield from coverage_errors(view, check_id, MANAGED, regional=False, resource_type="policy")
    for listed in view.listed(MANAGED):
        record = view.one(MANAGED, listed.account_id, listed.resource_id)
        if record is None:
            yield missing_error(
                check_id,
                account_id=listed.account_id,
                region=GLOBAL,
                resource_id=listed.resource_id,
                resource_type="policy",
                what="policy document",
                evidence=[listed.listing],
            )
            continue
        document = _default_document(record.payload)
        attached = (record.payload.get("AttachmentCount") or 0) > 0
        if document is None:
            yield verdict(check_id, ERROR, record, "the policy's default version document is not in the evidence")
        elif not attached:
            yield verdict(check_id, NA, record, "the policy is not attached to any user, group or role")
        elif grants_full_admin(document):
            yield verdict(
                check_id, FAIL, record, f'attached {record.payload["AttachmentCount"]} time(s) and allows "*" on "*"'
            )
        else:
            yield verdict(check_id, PASS, record, 'the attached policy does not allow "*" on "*"')


# -- checks as units (metadata in iam.yaml) ---------------------------------------------------------------------

USER_POLICIES = "iam.user"
ORGANIZATION, IDENTITY_CENTER = "organizations.organization", "sso.instances"


def _names(policies: Any, key: str) -> list[str]:
    return [str(p.get(key)) for p in policies or [] if isinstance(p, dict)]


@each(USER_POLICIES, resource_type="user", what="user's policies", regional=False)
def policies_attached_to_groups_and_roles(c: Check, user: EvidenceRecord) -> Finding:
    # Absent lists in a user's entry of the authorization details mean none (AWS omits nothing it has).
    managed = _names(user.payload.get("AttachedManagedPolicies"), "PolicyName")
    inline = _names(user.payload.get("UserPolicyList"), "PolicyName")
    if managed or inline:
        parts = [f"managed {', '.join(managed)}" if managed else "", f"inline {', '.join(inline)}" if inline else ""]
        return c.failed(user, f"policies attached directly to the user: {'; '.join(p for p in parts if p)}")
    groups = user.payload.get("GroupList") or []
    through = f"its groups ({', '.join(map(str, groups))})" if groups else "no group (the user has no permissions)"
    return c.passed(user, f"no policy is attached to the user; its permissions come from {through}")


@each(MANAGED, resource_type="policy", what="policy document", regional=False)
def no_privilege_escalation_actions(c: Check, policy: EvidenceRecord) -> Finding:
    document = _default_document(policy.payload)
    if document is None:
        return c.error(policy, "the policy's default version document is not in the evidence")
    if not policy.payload.get("AttachmentCount"):
        return c.not_applicable(policy, "the policy is not attached to any user, group or role")
    found = escalations(document)
    if not found:
        return c.passed(policy, "the attached policy allows no privilege-escalation action on every resource")
    actions = ", ".join(entry.action + (" (under a condition)" if conditional else "") for entry, conditional in found)
    methods = sorted({m for entry, _ in found for m in entry.methods})
    return c.failed(
        policy,
        f'allows on "*": {actions} (privilege escalation: Rhino Security Labs methods {", ".join(map(str, methods))})',
    )


def _account_listing(c: Check, kind: str, account_id: str, *, resource_id: str, what: str) -> EvidenceRecord:
    """The completed account-wide listing of `kind`, else Unavailable (the error on the account's finding)."""
    listing = c.view.listing(kind, account_id, GLOBAL)
    if listing is not None:
        return listing
    gaps = c.view.gaps(kind, account_id=account_id, resource_id=None) or c.view.collector_gaps(account_id, GLOBAL)
    where = {"resource_id": resource_id, "resource_type": "account", "region": GLOBAL, "account_id": account_id}
    if gaps:
        raise Unavailable(gap_error(c.id, gaps[0], **where))
    raise Unavailable(missing_error(c.id, what=what, **where))


@per_account(reads=(USER, ORGANIZATION, IDENTITY_CENTER))
def human_access_through_identity_center(c: Check, account_id: str) -> Finding:
    """Pass: an ACTIVE organization instance of IAM Identity Center (owned by the Organization's management
    account) is visible to the account, and no IAM user has a console password. Account instances of Identity
    Center serve applications only and cannot give people access to AWS accounts, so they do not count."""
    root = account_arn(account_id)
    with about_account(account_id):
        organization = c.account_setting(
            ORGANIZATION,
            account_id,
            resource_id=setting_id(account_id, GLOBAL, "organization"),
            resource_type="organization",
            what="Organization membership",
        )
        instances = c.account_setting(
            IDENTITY_CENTER,
            account_id,
            resource_id=setting_id(account_id, GLOBAL, "identity-center"),
            resource_type="identity-center-instances",
            what="IAM Identity Center instance listing",
        )
    listing = _account_listing(c, USER, account_id, resource_id=root, what="credential report")
    rows = []
    for user_arn in listing.payload.get("resource_ids", []):
        row = c.view.one(USER, account_id, user_arn)
        if row is None:
            raise Unavailable(
                missing_error(
                    c.id,
                    account_id=account_id,
                    region=GLOBAL,
                    resource_id=root,
                    resource_type="account",
                    what=f"credential report row for {user_arn}",
                    evidence=[listing],
                )
            )
        if row.payload.get("user") != ROOT_ROW:
            rows.append(row)
    console = sorted(str(r.payload.get("user")) for r in rows if r.payload.get("password_enabled") == "true")
    management = organization.payload.get("MasterAccountId")
    active = [i for i in instances.payload.get("Instances", []) if i.get("Status") == "ACTIVE"]
    org_instances = [i for i in active if management and i.get("OwnerAccountId") == management]
    problems = []
    if management is None:
        problems.append(
            "the account is in no AWS Organization, and only an organization instance of IAM Identity "
            "Center gives people access to AWS accounts"
        )
    elif not org_instances:
        others = f" ({len(active)} account instance(s), which serve applications only)" if active else ""
        problems.append(f"no active IAM Identity Center instance of the Organization is visible to the account{others}")
    if console:
        problems.append(f"{len(console)} IAM user(s) sign in to the console with a password: {', '.join(console)}")
    basis = {"also": [instances, listing, *rows], "resource_id": root, "resource_type": "account"}
    if problems:
        return c.failed(organization, "; ".join(problems), **basis)
    name = org_instances[0].get("InstanceArn", "").rsplit("/", 1)[-1]
    return c.passed(
        organization,
        f"people sign in through IAM Identity Center ({name}, the Organization's instance) and no IAM user has a "
        "console password",
        **basis,
    )
