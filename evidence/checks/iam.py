"""IAM checks: root user, password policy, users' MFA, key rotation, unused credentials, admin policies, and the
account's registered security contact."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from evidence.checks.registry import check
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import Finding
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
