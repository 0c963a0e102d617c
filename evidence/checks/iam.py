"""The iam.* checks: root user, password policy, users' MFA, key rotation, unused credentials, admin policies,
policies attached to users, privilege-escalation actions, human access through IAM Identity Center, no console
password on users with access keys, and bounded sessions on the roles people assume (metadata in iam.yaml)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from evidence.checks._account import about_account
from evidence.checks._escalation import escalations
from evidence.checks._policies import grants_full_admin
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import Finding
from evidence.checks.unit import Check, Unavailable, each, per_account
from evidence.checks.verdicts import missing_error, setting_id
from evidence.checks.view import GLOBAL
from evidence.store import EvidenceRecord

SUMMARY, POLICY, USER, MANAGED = (
    "iam.account_summary",
    "iam.password_policy",
    "iam.credential_report_user",
    "iam.managed_policy",
)
ROOT_ROW = "<root_account>"
USER_POLICIES = "iam.user"
IDENTITY_CENTER_ROLES = "iam.identity_center_roles"


def _summary(c: Check, account_id: str, field: str, good: int, passing: str, failing: str) -> Finding:
    record = c.account_setting(
        SUMMARY,
        account_id,
        resource_id=c.view.account_arn(account_id),
        resource_type="account",
        what="IAM account summary",
    )
    value = record.payload.get("SummaryMap", {}).get(field)
    if value is None:
        return c.error(record, f"the account summary has no {field}")
    return c.passed(record, passing) if value == good else c.failed(record, failing)


@per_account(reads=(SUMMARY,))
def root_mfa_enabled(c: Check, account_id: str) -> Finding:
    return _summary(
        c, account_id, "AccountMFAEnabled", 1, "the root user has MFA enabled", "the root user has no MFA device"
    )


@per_account(reads=(SUMMARY,))
def root_access_keys_absent(c: Check, account_id: str) -> Finding:
    return _summary(
        c,
        account_id,
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


@per_account(reads=(POLICY,))
def password_policy_strong(c: Check, account_id: str) -> Finding:
    record = c.account_setting(
        POLICY,
        account_id,
        resource_id=setting_id(account_id, GLOBAL, "iam-password-policy"),
        resource_type="password-policy",
        what="password policy",
    )
    if "NotFound" in record.payload:
        return c.failed(record, "the account has no password policy (AWS defaults apply)")
    problems = _policy_problems(record.payload.get("PasswordPolicy", {}), c.thresholds)
    if problems:
        return c.failed(record, "; ".join(problems))
    return c.passed(record, "the password policy meets every requirement")


def _date(value: str | None) -> datetime | None:
    """Credential report dates; 'N/A', 'no_information' and 'not_supported' mean none."""
    if not value or not value[0].isdigit():
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


# Every user row of every account's credential report; the root row is the root_* checks' business.
users = each(USER, resource_type="user", what="credential report row", regional=False)


@users
def user_mfa_enabled(c: Check, user: EvidenceRecord) -> Finding | None:
    row = user.payload
    if row.get("user") == ROOT_ROW:
        return None
    if row.get("password_enabled") != "true":
        return c.not_applicable(user, "the user has no console password")
    if row.get("mfa_active") == "true":
        return c.passed(user, "the console user has an MFA device")
    return c.failed(user, "the user has a console password and no MFA device")


def _active_keys(row: dict[str, Any]) -> list[int]:
    return [n for n in (1, 2) if row.get(f"access_key_{n}_active") == "true"]


@users
def access_keys_rotated(c: Check, user: EvidenceRecord) -> Finding | None:
    row = user.payload
    if row.get("user") == ROOT_ROW:
        return None
    limit = c.thresholds.access_key_max_age_days
    keys = _active_keys(row)
    if not keys:
        return c.not_applicable(user, "the user has no active access key")
    old, unknown = [], []
    for n in keys:
        rotated = _date(row.get(f"access_key_{n}_last_rotated"))
        if rotated is None:
            unknown.append(f"key {n}")
        elif (c.now - rotated).days > limit:
            old.append(f"key {n} is {(c.now - rotated).days} days old")
    if old:
        return c.failed(user, f"{'; '.join(old)} (limit {limit} days)")
    if unknown:
        return c.error(user, f"the credential report gives no rotation date for {', '.join(unknown)}")
    return c.passed(user, f"every active key is at most {limit} days old")


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


@users
def unused_credentials_disabled(c: Check, user: EvidenceRecord) -> Finding | None:
    if user.payload.get("user") == ROOT_ROW:
        return None
    limit = c.thresholds.credential_unused_days
    stale, has_any = _unused(user.payload, c.now, limit)
    if not has_any:
        return c.not_applicable(user, "the user has no console password and no active access key")
    if stale:
        return c.failed(user, f"{'; '.join(stale)} (limit {limit} days)")
    return c.passed(user, f"every enabled credential was used within {limit} days")


def _default_document(policy: dict[str, Any]) -> dict[str, Any] | None:
    for version in policy.get("PolicyVersionList", []):
        if version.get("IsDefaultVersion") or version.get("VersionId") == policy.get("DefaultVersionId"):
            document = version.get("Document")
            return document if isinstance(document, dict) else None
    return None


@each(MANAGED, resource_type="policy", what="policy document", regional=False)
def no_full_admin_policies(c: Check, policy: EvidenceRecord) -> Finding:
    document = _default_document(policy.payload)
    count = policy.payload.get("AttachmentCount") or 0
    if document is None:
        return c.error(policy, "the policy's default version document is not in the evidence")
    if count == 0:
        return c.not_applicable(policy, "the policy is not attached to any user, group or role")
    if grants_full_admin(document):
        return c.failed(policy, f'attached {count} time(s) and allows "*" on "*"')
    return c.passed(policy, 'the attached policy does not allow "*" on "*"')


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
    if groups:
        return c.passed(
            user,
            f"no policy is attached to the user; its permissions come from its groups ({', '.join(map(str, groups))})",
        )
    return c.passed(user, "no policy is attached to the user and it is in no group: it has no IAM permissions")


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


def _permission_set(role_name: str) -> str:
    """AWSReservedSSO_<permission set>_<16 hex digits> -> the permission set's name."""
    return role_name.removeprefix("AWSReservedSSO_").rsplit("_", 1)[0]


@per_account(reads=(USER, IDENTITY_CENTER_ROLES))
def human_access_through_identity_center(c: Check, account_id: str) -> Finding:
    """Pass: IAM Identity Center provisions access to the account (a permission set's AWSReservedSSO_ role exists
    under /aws-reserved/sso.amazonaws.com/, a path only Identity Center can use) and no IAM user has a console
    password. Only an organization instance assigns permission sets to accounts, so such a role is also the proof
    that the Organization's Identity Center serves the account."""
    root = c.view.account_arn(account_id)
    with about_account(c.view, account_id):
        provisioned = c.account_setting(
            IDENTITY_CENTER_ROLES,
            account_id,
            resource_id=setting_id(account_id, GLOBAL, "identity-center-roles"),
            resource_type="identity-center-roles",
            what="IAM Identity Center role listing",
        )
    listing = c.listing(USER, account_id, GLOBAL, resource_id=root, resource_type="account", what="credential report")
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
    sets = sorted(
        {
            _permission_set(str(r.get("RoleName")))
            for r in provisioned.payload.get("Roles") or []
            if str(r.get("RoleName", "")).startswith("AWSReservedSSO_")
        }
    )
    problems = []
    if not sets:
        problems.append("no IAM Identity Center permission set is provisioned to the account")
    if console:
        problems.append(f"{len(console)} IAM user(s) sign in to the console with a password: {', '.join(console)}")
    basis = {"also": [listing, *rows], "resource_id": root, "resource_type": "account"}
    if problems:
        return c.failed(provisioned, "; ".join(problems), **basis)
    return c.passed(
        provisioned,
        f"people reach the account through IAM Identity Center (permission sets {', '.join(sets)}) and no IAM user "
        "has a console password",
        **basis,
    )


@users
def service_users_without_console(c: Check, user: EvidenceRecord) -> Finding | None:
    """An IAM user with an active access key is used by software (a system or application account); a console
    password on it lets anyone who knows the password use that account interactively (PCI DSS 8.6.1)."""
    row = user.payload
    if row.get("user") == ROOT_ROW:
        return None
    keys = _active_keys(row)
    if not keys:
        return c.not_applicable(user, "the user has no active access key")
    held = f"active access key{'s' if len(keys) > 1 else ''} {' and '.join(map(str, keys))}"
    if row.get("password_enabled") == "true":
        return c.failed(user, f"{held} and a console password: the account can also be used interactively")
    return c.passed(user, f"{held}, no console password")


HUMAN_ROLES = "iam.human_role"
_SIGN_IN = {"identity-center": "IAM Identity Center permission set role", "saml": "SAML-federated role"}


@each(HUMAN_ROLES, resource_type="role", what="role details", regional=False, empty="no role people assume here")
def human_session_duration_bounded(c: Check, role: EvidenceRecord) -> Finding:
    """A session on a role people assume ends at most N hours after sign-in, whatever the activity: a bound on
    how long an unattended session stays usable, not an inactivity timeout."""
    seconds = role.payload.get("MaxSessionDuration")
    if not isinstance(seconds, int):
        return c.error(role, "cannot decide: the role description has no MaxSessionDuration")
    limit = c.thresholds.human_session_max_hours
    what = _SIGN_IN.get(str(role.payload.get("SignIn")), "role people assume")
    hours = f"{seconds / 3600:g} hour{'' if seconds == 3600 else 's'}"
    if seconds <= limit * 3600:
        return c.passed(role, f"{what}: sessions end after at most {hours} (limit {limit})")
    return c.failed(role, f"{what}: sessions may last {hours} (limit {limit})")
