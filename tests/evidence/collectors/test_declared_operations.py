"""Every API operation a collection makes is declared by a collector, and the IAM policy generated from the
declarations is read-only and complete."""

import boto3
import pytest
from botocore import xform_name

from evidence.aws.scope import ScopeError
from evidence.collectors.registry import Scope, collector, collectors, declared_calls, iam_action, iam_policy
from tests.scenario import Collected

# GenerateCredentialReport only builds the report; LookupEvents reads CloudTrail's event history (IAM access level Read)
READ_ONLY_VERBS = ("Describe", "Get", "List", "BatchGet", "Generate", "Lookup")


def test_every_operation_made_is_declared(collected: Collected) -> None:
    made = {f"{service}.{operation}" for service, operation in collected.operations}
    assert made, "the hook recorded nothing: is it still registered on the base session?"
    assert made - declared_calls() == set()
    # and the recording is real: member-account sessions inherited the hook (GetAccountSummary ran 3 times)
    assert collected.run.stats["operations"]["iam.GetAccountSummary"]["calls"] == 3


def test_every_declared_operation_is_exercised(collected: Collected) -> None:
    made = {f"{service}.{operation}" for service, operation in collected.operations}
    # Read only after a listing moto does not implement (tests with Stubber cover them): patch states of the
    # instances SSM manages, what each backup plan's selections select, what each restore testing plan tests,
    # where each GuardDuty publishing destination sends findings, the details of Macie's findings and the
    # sensitivity inspection template of its automated discovery. CloudTrail's LookupEvents is made only when a run
    # has a previous one to compare with, and the scenario is a first capture (test_change_lookups.py makes it).
    assert declared_calls() - made == {
        "cloudtrail.LookupEvents",
        "guardduty.DescribePublishingDestination",
        "ssm.DescribeInstancePatchStates",
        "backup.GetBackupSelection",
        "backup.ListRestoreTestingSelections",
        "macie2.GetFindings",
        "macie2.GetSensitivityInspectionTemplate",
    }


def test_declared_operations_exist_in_the_service_models() -> None:
    session = boto3.Session(region_name="us-east-1")
    for call in sorted(declared_calls()):
        service, operation = call.split(".")
        model = session._session.get_service_model(service)
        assert operation in model.operation_names, call
        assert xform_name(operation)  # the client method exists under botocore's name


def test_generated_policy_is_read_only_and_covers_every_declared_call() -> None:
    policy = iam_policy()
    assert policy["Version"] == "2012-10-17"
    statements = {s["Sid"]: s for s in policy["Statement"]}
    collection = statements["AuditpackReadOnlyCollection"]["Action"]
    for action in collection:
        verb = action.split(":")[1]
        assert verb.startswith(READ_ONLY_VERBS), f"{action} is not a read-only action"
    assert collection == sorted(set(collection))
    caller_only = {"organizations:DescribeOrganization", "organizations:ListAccounts", "sts:AssumeRole"}
    expected = {iam_action(c) for c in declared_calls()} - {None} - caller_only
    assert set(collection) == expected
    # reading the Organization is asked of the identity that runs auditpack (management or delegated administrator)
    assert statements["AuditpackListOrganizationAccounts"]["Action"] == [
        "organizations:DescribeOrganization",
        "organizations:ListAccounts",
    ]
    assert "s3:GetEncryptionConfiguration" in collection and "s3:GetBucketEncryption" not in collection
    assert statements["AuditpackAssumeMemberRole"]["Resource"] == "arn:aws:iam::*:role/OrganizationAccountAccessRole"
    assert iam_policy(role_name="Auditor")["Statement"][2]["Resource"] == "arn:aws:iam::*:role/Auditor"


def test_the_policy_names_the_role_in_the_partition_asked_for() -> None:
    gov = iam_policy(role_name="Auditor", partition="aws-us-gov")
    assert gov["Statement"][2]["Resource"] == "arn:aws-us-gov:iam::*:role/Auditor"
    assert gov["Statement"][:2] == iam_policy()["Statement"][:2]  # actions are the same in every partition
    with pytest.raises(ScopeError, match="unknown AWS partition 'aws-gov'"):
        iam_policy(partition="aws-gov")


def test_collectors_declare_their_scope_and_domain() -> None:
    registered = collectors()
    assert {c.domain for c in registered.values()} == {
        "iam",
        "encryption",
        "logging",
        "patching",
        "network",
        "backup",
        "inventory",
    }
    assert {name for name, c in registered.items() if c.scope is Scope.GLOBAL} == {
        "iam",
        "s3",
        "identity_center",
        "artifact",
        "human_roles",
        "route53",
    }


def test_a_malformed_declaration_is_refused() -> None:
    with pytest.raises(ValueError, match=r"client\.Operation"):
        collector("broken", domain="iam", scope=Scope.GLOBAL, calls=("iam:GetUser",), produces=("iam.user",))


def test_a_collector_must_declare_the_kinds_it_produces() -> None:
    with pytest.raises(ValueError, match=r"declares no evidence kinds"):
        collector("quiet", domain="iam", scope=Scope.GLOBAL, calls=("iam.GetUser",), produces=())
