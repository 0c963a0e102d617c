"""IAM checks on the scenario estate: root user, password policy, users, keys, admin policies."""

from datetime import timedelta

from evidence.checks.evaluate import evaluate_run
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import FindingStatus
from tests.scenario import Collected

PASS, FAIL, NA = FindingStatus.PASS, FindingStatus.FAIL, FindingStatus.NOT_APPLICABLE


def test_root_mfa_from_the_account_summary(collected: Collected) -> None:
    estate = collected.estate
    good = collected.finding("iam.root_mfa_enabled", f"{estate.management}:root")
    bad = collected.finding("iam.root_mfa_enabled", f"{estate.member_a}:root")
    assert (good.status, bad.status) == (PASS, FAIL)
    assert good.region == "global" and good.resource_id == f"arn:aws:iam::{estate.management}:root"
    assert collected.store.load_payload(good.evidence[0])["SummaryMap"]["AccountMFAEnabled"] == 1


def test_root_access_keys(collected: Collected) -> None:
    estate = collected.estate
    assert collected.finding("iam.root_access_keys_absent", f"{estate.management}:root").status == PASS
    bad = collected.finding("iam.root_access_keys_absent", f"{estate.member_b}:root")
    assert bad.status == FAIL and "has access keys" in bad.reason


def test_password_policy(collected: Collected) -> None:
    estate = collected.estate
    assert collected.finding("iam.password_policy_strong", f"{estate.management}/iam-password-policy").status == PASS
    weak = collected.finding("iam.password_policy_strong", f"{estate.member_a}/iam-password-policy")
    assert weak.status == FAIL
    assert "minimum length 8 < 14" in weak.reason and "symbols not required" in weak.reason
    missing = collected.finding("iam.password_policy_strong", f"{estate.member_b}/iam-password-policy")
    assert missing.status == FAIL and "no password policy" in missing.reason


def test_security_contact(collected: Collected) -> None:
    estate = collected.estate
    registered = collected.finding("account.security_contact_registered", f"{estate.management}/security-contact")
    assert registered.status == PASS
    for member in (estate.member_a, estate.member_b):  # moto answers ResourceNotFoundException, as AWS does
        missing = collected.finding("account.security_contact_registered", f"{member}/security-contact")
        assert missing.status == FAIL and "no security contact is registered" in missing.reason


def test_console_users_need_mfa(collected: Collected) -> None:
    assert collected.finding("iam.user_mfa_enabled", ":user/alice").status == PASS
    assert collected.finding("iam.user_mfa_enabled", ":user/bob").status == FAIL
    assert collected.finding("iam.user_mfa_enabled", ":user/ci-bot").status == NA


def test_users_with_access_keys_have_no_console_password(collected: Collected) -> None:
    assert collected.finding("iam.service_users_without_console", ":user/ci-bot").status == PASS
    bob = collected.finding("iam.service_users_without_console", ":user/bob")
    assert bob.status == FAIL and "and a console password" in bob.reason
    assert collected.finding("iam.service_users_without_console", ":user/alice").status == NA


def test_sessions_on_roles_people_assume(collected: Collected) -> None:
    by_set = {
        f.resource_id.rsplit("/", 1)[-1].split("_")[1]: f
        for f in collected.findings("iam.human_session_duration_bounded")
    }
    assert by_set["AdministratorAccess"].status == FAIL  # management: 12-hour sessions
    assert "may last 12 hours" in by_set["AdministratorAccess"].reason
    assert by_set["ReadOnly"].status == PASS  # member A: one hour


def test_access_keys_rotated_from_the_credential_report(collected: Collected) -> None:
    assert collected.finding("iam.access_keys_rotated", ":user/ci-bot").status == PASS
    old = collected.finding("iam.access_keys_rotated", ":user/old-deployer")
    assert old.status == FAIL and "key 1 is 200 days old" in old.reason
    assert collected.finding("iam.access_keys_rotated", ":user/alice").status == NA


def test_unused_credentials(collected: Collected) -> None:
    assert collected.finding("iam.unused_credentials_disabled", ":user/ci-bot").status == PASS
    assert collected.finding("iam.unused_credentials_disabled", ":user/alice").status == PASS
    stale = collected.finding("iam.unused_credentials_disabled", ":user/old-deployer")
    assert stale.status == FAIL and "access key 1 last used 150 days ago" in stale.reason


def test_attached_full_admin_policies(collected: Collected) -> None:
    ids = collected.estate.ids
    assert collected.finding("iam.no_full_admin_policies", ids["admin_policy"]).status == FAIL
    assert collected.finding("iam.no_full_admin_policies", ids["read_policy"]).status == PASS
    assert collected.finding("iam.no_full_admin_policies", ids["unused_admin"]).status == NA


def test_thresholds_and_time_change_the_verdicts(collected: Collected) -> None:
    lenient = evaluate_run(collected.store, collected.run.id, thresholds=Thresholds(access_key_max_age_days=365))
    by_user = {f.resource_id.rsplit("/", 1)[-1]: f for f in lenient if f.check_id == "iam.access_keys_rotated"}
    assert by_user["old-deployer"].status == PASS
    later = evaluate_run(collected.store, collected.run.id, now=collected.run.finished_at + timedelta(days=120))
    by_user = {f.resource_id.rsplit("/", 1)[-1]: f for f in later if f.check_id == "iam.access_keys_rotated"}
    assert by_user["ci-bot"].status == FAIL
