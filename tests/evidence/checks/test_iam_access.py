"""Who gets which permissions, and how people sign in: policies attached to users, privilege-escalation actions in
customer-managed policies, and human access through IAM Identity Center. Collected from moto (one account) and
evaluated; edge cases from in-memory evidence."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from evidence.checks._escalation import escalation_actions, escalations
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import Finding, FindingStatus
from evidence.store import EvidenceStore
from tests.evidence.checks.test_missing_evidence import ACCOUNT, evaluate, listing, record
from tests.evidence.collectors.one_account import REGION, collect_account, deny, findings
from tests.evidence.collectors.test_identity_collectors import SSO_PATH, sso_trust
from tests.moto_server import fake_aws_env
from tests.scenario import Collected

PASS, FAIL, NA, ERROR = FindingStatus.PASS, FindingStatus.FAIL, FindingStatus.NOT_APPLICABLE, FindingStatus.ERROR
ATTACHED, ESCALATION, HUMANS = (
    "iam.policies_attached_to_groups_and_roles",
    "iam.no_privilege_escalation_actions",
    "iam.human_access_through_identity_center",
)
ACCOUNT_ID = "123456789012"  # moto's default account


def document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def by_name(found: list[Finding]) -> dict[str, Finding]:
    return {f.resource_id.rsplit("/", 1)[-1]: f for f in found}


# -- iam.policies_attached_to_groups_and_roles -----------------------------------------------------------------


def test_users_with_policies_of_their_own_fail_and_users_in_groups_pass(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    iam = aws.client("iam")
    read = json.dumps(document(allow("s3:GetObject")))
    policy = iam.create_policy(PolicyName="read-reports", PolicyDocument=read)["Policy"]["Arn"]
    iam.create_group(GroupName="analysts")
    iam.attach_group_policy(GroupName="analysts", PolicyArn=policy)
    iam.create_user(UserName="carol")
    iam.add_user_to_group(UserName="carol", GroupName="analysts")
    iam.create_user(UserName="dave")
    iam.attach_user_policy(UserName="dave", PolicyArn=policy)
    iam.create_user(UserName="erin")
    iam.put_user_policy(UserName="erin", PolicyName="erin-extra", PolicyDocument=read)

    users = by_name(findings(sqlite_store, collect_account(sqlite_store, aws, ["iam"]), ATTACHED))
    assert users["carol"].status == PASS
    assert users["carol"].reason == "no policy is attached to the user; its permissions come from its groups (analysts)"
    assert users["dave"].status == FAIL
    assert users["dave"].reason == "policies attached directly to the user: managed read-reports"
    assert users["erin"].status == FAIL and users["erin"].reason.endswith("inline erin-extra")


def test_unreadable_authorization_details_are_an_error_for_users_and_policies(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    aws.client("iam").create_user(UserName="carol")
    deny(aws, "iam", "GetAccountAuthorizationDetails", code="AccessDenied")
    run = collect_account(sqlite_store, aws, ["iam"])
    for check_id in (ATTACHED, ESCALATION):
        [finding] = findings(sqlite_store, run, check_id)
        assert finding.status == ERROR
        assert "iam:GetAccountAuthorizationDetails failed (AccessDenied" in finding.reason


# -- iam.no_privilege_escalation_actions -----------------------------------------------------------------------


def test_escalation_actions_on_every_resource_fail_and_scoped_ones_pass(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    iam = aws.client("iam")
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=json.dumps(document()))
    iam.create_group(GroupName="holders")
    policies = {
        "pass-any-role": document(allow(["iam:PassRole", "ec2:RunInstances"])),
        "pass-app-role": document(allow("iam:PassRole", f"arn:aws:iam::{ACCOUNT_ID}:role/app")),
        "put-anything": document(allow("iam:Put*Policy")),
        "all-but-s3": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}],
        },
        "iam-read-only": document(allow(["iam:Get*", "iam:List*"])),
        "unused-admin": document(allow("iam:*")),
    }
    for name, policy in policies.items():
        arn = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(policy))["Policy"]["Arn"]
        if name != "unused-admin":
            iam.attach_group_policy(GroupName="holders", PolicyArn=arn)

    result = by_name(findings(sqlite_store, collect_account(sqlite_store, aws, ["iam"]), ESCALATION))
    assert result["pass-any-role"].status == FAIL
    assert result["pass-any-role"].reason == (
        'allows on "*": iam:PassRole (privilege escalation: Rhino Security Labs methods 3, 15, 16, 18, 20, 21)'
    )
    assert result["put-anything"].status == FAIL
    assert "iam:PutUserPolicy, iam:PutGroupPolicy, iam:PutRolePolicy (" in result["put-anything"].reason
    assert result["all-but-s3"].status == FAIL and "iam:CreatePolicyVersion" in result["all-but-s3"].reason
    assert result["pass-app-role"].status == PASS
    assert result["iam-read-only"].status == PASS
    assert result["unused-admin"].status == NA


def test_a_deny_on_every_resource_takes_an_action_back_unless_it_is_conditional() -> None:
    everything = allow("iam:*")
    deny_passrole = {"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*"}
    found = {e.action for e, _ in escalations(document(everything, deny_passrole))}
    assert "iam:PassRole" not in found and "iam:CreateAccessKey" in found
    conditional_deny = {**deny_passrole, "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": "platform"}}}
    assert "iam:PassRole" in {e.action for e, _ in escalations(document(everything, conditional_deny))}


def test_action_patterns_are_case_insensitive_with_both_wildcards() -> None:
    assert [e.action for e, _ in escalations(document(allow("IAM:createaccesskey")))] == ["iam:CreateAccessKey"]
    assert [e.action for e, _ in escalations(document(allow("iam:?ddUserToGroup")))] == ["iam:AddUserToGroup"]
    assert escalations(document(allow("iam:PassRole", ["arn:aws:iam::1:role/a", "arn:aws:iam::1:role/b"]))) == []
    narrowed = {"Effect": "Allow", "Action": "iam:PassRole", "NotResource": "arn:aws:iam::1:role/admin"}
    assert [e.action for e, _ in escalations(document(narrowed))] == ["iam:PassRole"]


def test_an_action_allowed_only_under_a_condition_is_reported_as_such() -> None:
    scoped = allow("iam:PassRole", Condition={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}})
    [(entry, conditional)] = escalations(document(scoped))
    assert entry.action == "iam:PassRole" and conditional


def test_the_action_list_cites_its_source_for_every_entry() -> None:
    actions = escalation_actions()
    assert {"iam:PassRole", "iam:CreatePolicyVersion", "iam:UpdateAssumeRolePolicy"} <= {a.action for a in actions}
    assert all(a.methods and all(1 <= m <= 21 for m in a.methods) and a.effect for a in actions)


# -- iam.human_access_through_identity_center ------------------------------------------------------------------


def _provision(aws: boto3.Session, *permission_sets: str) -> None:
    """The roles IAM Identity Center creates in an account it assigns permission sets to."""
    iam = aws.client("iam")
    for n, name in enumerate(permission_sets):
        role = f"AWSReservedSSO_{name}_{n:016x}"
        iam.create_role(RoleName=role, Path=SSO_PATH, AssumeRolePolicyDocument=sso_trust(ACCOUNT_ID))


def test_identity_center_access_and_no_console_users_pass(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    _provision(aws, "ReadOnly", "ClinicalEngineer")
    aws.client("iam").create_user(UserName="ci-deployer")  # access keys only: a workload, not judged
    aws.client("iam").create_access_key(UserName="ci-deployer")
    [finding] = findings(sqlite_store, collect_account(sqlite_store, aws, ["iam", "identity_center"]), HUMANS)
    assert finding.status == PASS
    assert finding.resource_id == f"arn:aws:iam::{ACCOUNT_ID}:root"
    assert finding.reason == (
        "people reach the account through IAM Identity Center (permission sets ClinicalEngineer, ReadOnly) and no "
        "IAM user has a console password"
    )


def test_console_passwords_fail_and_name_the_users(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    _provision(aws, "ReadOnly")
    iam = aws.client("iam")
    for name in ("zoe", "adam"):
        iam.create_user(UserName=name)
        iam.create_login_profile(UserName=name, Password="Correct-Horse-Battery-9")
    [finding] = findings(sqlite_store, collect_account(sqlite_store, aws, ["iam", "identity_center"]), HUMANS)
    assert finding.status == FAIL
    assert finding.reason == "2 IAM user(s) sign in to the console with a password: adam, zoe"


def test_an_account_identity_center_does_not_reach_fails(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    # a role a customer made to look like one is not under the reserved path (AWS refuses that path to anyone else)
    aws.client("iam").create_role(
        RoleName="AWSReservedSSO_Fake_0000000000000000", AssumeRolePolicyDocument=sso_trust(ACCOUNT_ID)
    )
    [finding] = findings(sqlite_store, collect_account(sqlite_store, aws, ["iam", "identity_center"]), HUMANS)
    assert finding.status == FAIL
    assert finding.reason == "no IAM Identity Center permission set is provisioned to the account"


def test_an_unreadable_role_listing_is_an_error(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    deny(aws, "iam", "ListRoles", code="AccessDenied")
    [finding] = findings(sqlite_store, collect_account(sqlite_store, aws, ["iam", "identity_center"]), HUMANS)
    assert finding.status == ERROR and "iam:ListRoles failed (AccessDenied" in finding.reason
    assert finding.resource_id == f"arn:aws:iam::{ACCOUNT_ID}:root"  # one finding per account, whatever its outcome


def test_a_missing_credential_report_row_is_an_error_not_a_pass() -> None:
    roles = {"Roles": [{"RoleName": "AWSReservedSSO_ReadOnly_0000000000000001", "Path": SSO_PATH}]}
    records = [
        record("iam.identity_center_roles", f"{ACCOUNT}/identity-center-roles", roles, region="global"),
        listing("iam.credential_report_user", [f"arn:aws:iam::{ACCOUNT}:user/ghost"], region="global"),
    ]
    [finding] = evaluate(records)[HUMANS]
    assert finding.status == ERROR and "credential report row" in finding.reason


def test_the_root_row_is_left_to_the_root_checks() -> None:
    roles = {"Roles": [{"RoleName": "AWSReservedSSO_ReadOnly_0000000000000001", "Path": SSO_PATH}]}
    root = f"arn:aws:iam::{ACCOUNT}:root"
    records = [
        record("iam.identity_center_roles", f"{ACCOUNT}/identity-center-roles", roles, region="global"),
        listing("iam.credential_report_user", [root], region="global"),
        record("iam.credential_report_user", root, {"user": "<root_account>", "password_enabled": "not_supported"}),
    ]
    [finding] = evaluate(records)[HUMANS]
    assert finding.status == PASS


# -- the scenario estate (an Organization in moto) ----------------------------------------------------------------


def test_the_scenario_estate(collected: Collected) -> None:
    estate = collected.estate
    humans = {f.account_id: f for f in collected.findings(HUMANS)}
    assert humans[estate.member_a].status == PASS and "(permission sets ReadOnly)" in humans[estate.member_a].reason
    assert humans[estate.management].reason == "2 IAM user(s) sign in to the console with a password: alice, bob"
    assert humans[estate.member_b].reason == "no IAM Identity Center permission set is provisioned to the account"
    assert (
        collected.finding(ATTACHED, ":user/bob").reason
        == "policies attached directly to the user: managed AdminEverything"
    )
    assert collected.finding(ATTACHED, ":user/alice").status == PASS
    admin = collected.finding(ESCALATION, estate.ids["admin_policy"])
    assert admin.status == FAIL and "iam:PassRole" in admin.reason  # "*" takes in every escalation action
    assert collected.finding(ESCALATION, estate.ids["read_policy"]).status == PASS
    assert collected.finding(ESCALATION, estate.ids["unused_admin"]).status == NA


# -- iam.service_users_without_console -------------------------------------------------------------------------

SERVICE_USERS = "iam.service_users_without_console"


def test_users_with_access_keys_fail_with_a_console_password(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    iam = aws.client("iam")
    for name in ("ci-deployer", "etl-job", "nurse-portal"):
        iam.create_user(UserName=name)
    iam.create_access_key(UserName="ci-deployer")  # a system account used only through the API
    iam.create_access_key(UserName="etl-job")
    iam.create_login_profile(UserName="etl-job", Password="Correct-Horse-Battery-9")
    iam.create_login_profile(UserName="nurse-portal", Password="Correct-Horse-Battery-9")  # a person, no keys

    users = by_name(findings(sqlite_store, collect_account(sqlite_store, aws, ["iam"]), SERVICE_USERS))
    assert users["ci-deployer"].status == PASS
    assert users["ci-deployer"].reason == "active access key 1, no console password"
    assert users["etl-job"].status == FAIL
    assert users["etl-job"].reason == (
        "active access key 1 and a console password: the account can also be used interactively"
    )
    assert users["nurse-portal"].status == NA
    assert "<root_account>" not in users  # the root user is the root_* checks' business


def test_an_unreadable_credential_report_is_an_error_never_a_pass(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    aws.client("iam").create_user(UserName="ci-deployer")
    aws.client("iam").create_access_key(UserName="ci-deployer")
    deny(aws, "iam", "GetCredentialReport", code="AccessDenied")
    [finding] = findings(sqlite_store, collect_account(sqlite_store, aws, ["iam"]), SERVICE_USERS)
    assert finding.status == ERROR
    assert "iam:GetCredentialReport failed (AccessDenied" in finding.reason


# -- iam.human_session_duration_bounded ------------------------------------------------------------------------

SESSIONS = "iam.human_session_duration_bounded"


def _okta_trust() -> str:
    provider = f"arn:aws:iam::{ACCOUNT_ID}:saml-provider/Okta"
    statement = {"Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithSAML"}
    return json.dumps(document(statement))


def test_roles_people_assume_pass_with_short_sessions_and_fail_with_long_ones(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    iam = aws.client("iam")
    sso = "AWSReservedSSO_ClinicalEngineer_0123456789abcdef"
    iam.create_role(RoleName=sso, Path=SSO_PATH, AssumeRolePolicyDocument=sso_trust(ACCOUNT_ID))  # 1 hour
    iam.create_role(RoleName="okta-admins", AssumeRolePolicyDocument=_okta_trust(), MaxSessionDuration=43200)
    lambda_trust = document({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "*"})
    iam.create_role(RoleName="worker", AssumeRolePolicyDocument=json.dumps(lambda_trust), MaxSessionDuration=43200)

    run = collect_account(sqlite_store, aws, ["human_roles"])
    roles = by_name(findings(sqlite_store, run, SESSIONS))
    assert set(roles) == {sso, "okta-admins"}  # a workload's role is not judged
    assert roles[sso].status == PASS
    assert roles[sso].reason == "IAM Identity Center permission set role: sessions end after at most 1 hour (limit 4)"
    assert roles["okta-admins"].status == FAIL
    assert roles["okta-admins"].reason == "SAML-federated role: sessions may last 12 hours (limit 4)"
    # a longer limit, configured (AUDITPACK_HUMAN_SESSION_MAX_HOURS), lets the 12-hour role pass
    longer = by_name(findings(sqlite_store, run, SESSIONS, Thresholds(human_session_max_hours=12)))
    assert longer["okta-admins"].status == PASS


def test_an_account_nobody_assumes_a_role_in_is_not_applicable(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    [finding] = findings(sqlite_store, collect_account(sqlite_store, aws, ["human_roles"]), SESSIONS)
    assert finding.status == NA and finding.reason == "no role people assume here"


def test_an_unreadable_role_listing_is_an_error_never_a_pass(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    aws.client("iam").create_role(RoleName="okta-admins", AssumeRolePolicyDocument=_okta_trust())
    deny(aws, "iam", "ListRoles", code="AccessDenied")
    [finding] = findings(sqlite_store, collect_account(sqlite_store, aws, ["human_roles"]), SESSIONS)
    assert finding.status == ERROR
    assert "iam:ListRoles failed (AccessDenied" in finding.reason
