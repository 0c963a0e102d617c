"""--org on a real Organization: run from a delegated administrator (the management account is entered by role,
the caller's own account with its own credentials), accounts that are not ACTIVE (old `Status` or newer `State`)
are skipped and listed once, and a role that cannot be assumed is one clearly worded gap while the run goes on.

moto answers organizations:ListAccounts only in the management account (a delegated administrator gets an empty
list), so the delegated administrator's ListAccounts and DescribeOrganization answer through botocore's Stubber,
with moto's own answers as the content; everything else, AssumeRole included, is moto."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from evidence.aws.accounts import CollectionFailed, role_arn
from evidence.aws.partition import partition_for_region
from evidence.aws.scope import CollectionScope, ScopeError
from evidence.checks.types import FindingStatus
from evidence.findings import load_findings
from evidence.orchestrator import collect
from evidence.store import EvidenceStore
from tests.moto_server import fake_aws_env

REGION = "us-east-1"
MANAGEMENT = "123456789012"  # moto's default account creates the Organization
ROLE = "AuditpackReader"


class Notes:
    def __init__(self) -> None:
        self.notes: list[str] = []

    def planned(self, account_id: str, region: str, tasks: int) -> None: ...
    def completed(self, account_id: str, region: str) -> None: ...
    def note(self, message: str) -> None:
        self.notes.append(message)


def _session_in(base: boto3.Session, account_id: str) -> boto3.Session:
    creds = base.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole", RoleSessionName="setup"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=REGION,
    )


def refuse_role(session: boto3.Session, account_id: str) -> None:
    """sts:AssumeRole of any role in `account_id` is refused, as AWS refuses it when the role's trust policy does
    not name the caller (moto does not evaluate trust policies)."""

    class Status:
        status_code = 403

    def answer(params: dict[str, Any], **_: Any) -> tuple[Status, dict[str, Any]] | None:
        arn = str(params.get("body", {}).get("RoleArn", ""))
        if f"::{account_id}:" not in arn:
            return None
        message = (
            "User: arn:aws:sts::111111111111:assumed-role/auditpack/s is not authorized to perform: "
            f"sts:AssumeRole on resource: {arn}"
        )
        return Status(), {"Error": {"Code": "AccessDenied", "Message": message}, "ResponseMetadata": {}}

    session.events.register_first("before-call.sts.AssumeRole", answer)


@pytest.fixture
def org() -> Iterator[dict[str, Any]]:
    """An Organization: management, a delegated administrator, a member, a member whose role is refused, and two
    accounts that are not ACTIVE (one closed through moto, one in the newer `State` field only)."""
    with fake_aws_env(), mock_aws():
        base = boto3.Session(region_name=REGION)
        client = base.client("organizations")
        client.create_organization(FeatureSet="ALL")
        ids = {
            name: client.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"][
                "AccountId"
            ]
            for name in ("delegated", "member", "locked", "closed")
        }
        client.close_account(AccountId=ids["closed"])
        for name in ("delegated", "member", "locked"):
            _session_in(base, ids[name]).client("ec2").create_volume(AvailabilityZone=f"{REGION}a", Size=8)
        accounts = client.list_accounts()["Accounts"]
        pending = {**accounts[-1], "Id": "999999999999", "Name": "leaving", "State": "PENDING_CLOSURE"}
        pending.pop("Status")  # the newer field alone, as Organizations answers after retiring `Status`
        yield {
            "base": base,
            "ids": ids,
            "accounts": [*accounts, pending],
            "organization": client.describe_organization()["Organization"],
        }


def _as_delegated_administrator(org: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> tuple[boto3.Session, Stubber]:
    caller = _session_in(org["base"], org["ids"]["delegated"])
    organizations = caller.client("organizations", region_name=REGION)
    stubber = Stubber(organizations)
    stubber.add_response("describe_organization", {"Organization": org["organization"]})
    stubber.add_response("list_accounts", {"Accounts": org["accounts"]})
    stubber.activate()
    made = caller.client

    def client(service: str, *args: Any, **kwargs: Any) -> Any:
        return organizations if service == "organizations" else made(service, *args, **kwargs)

    monkeypatch.setattr(caller, "client", client)
    refuse_role(caller, org["ids"]["locked"])
    return caller, stubber


def test_org_from_a_delegated_administrator(
    org: dict[str, Any], sqlite_store: EvidenceStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    caller, stubber = _as_delegated_administrator(org, monkeypatch)
    ids = org["ids"]
    notes = Notes()
    scope = CollectionScope(session=caller, org=True, role_name=ROLE, regions=(REGION,), max_attempts=1)
    run = collect(sqlite_store, scope, trigger="cli", requested_by="t", progress=notes)
    stubber.assert_no_pending_responses()

    entered = {
        r.account_id: (r.payload["Via"], r.payload["RoleArn"])
        for r in sqlite_store.iter_evidence(run.id, kinds=["collection.account"])
    }
    assert entered == {
        ids["delegated"]: ("caller", None),  # the caller's own account: its own credentials
        MANAGEMENT: ("assume_role", f"arn:aws:iam::{MANAGEMENT}:role/{ROLE}"),  # the management account by role
        ids["member"]: ("assume_role", f"arn:aws:iam::{ids['member']}:role/{ROLE}"),
    }
    assert run.stats["organization"] == {
        "id": org["organization"]["Id"],
        "management_account_id": MANAGEMENT,
        "collected_from": ids["delegated"],
        "caller_is_management_account": False,
    }
    [organization] = [r.payload for r in sqlite_store.iter_evidence(run.id, kinds=["organizations.organization"])]
    assert organization["MasterAccountId"] == MANAGEMENT and "MasterAccountEmail" not in organization

    # accounts that are not ACTIVE: skipped, listed once (run statistics and one note), no gap
    assert run.stats["out_of_scope"]["accounts"] == [
        {"account_id": ids["closed"], "name": "closed", "state": "SUSPENDED"},
        {"account_id": "999999999999", "name": "leaving", "state": "PENDING_CLOSURE"},
    ]
    assert (
        f"2 account(s) of the Organization are not ACTIVE and were not collected: {ids['closed']} (SUSPENDED), "
        "999999999999 (PENDING_CLOSURE)" in notes.notes
    )
    # the role refused in one account: one gap, worded plainly, and the run went on with the others
    gaps = [g for g in sqlite_store.gaps(run.id) if g.account_id == ids["locked"]]
    assert [(g.service, g.operation, g.kind, g.error_code) for g in gaps] == [
        ("sts", "AssumeRole", "collection.account", "AccessDenied")
    ]
    assert gaps[0].message.startswith(f"{ROLE} not assumable in {ids['locked']}: AccessDenied (User: ")
    assert f"{ROLE} not assumable in {ids['locked']}: AccessDenied" in notes.notes
    assert any("not from its management account 123456789012" in note for note in notes.notes)

    # every path ends as evidence or a gap, never a pass: the locked account errs everywhere, the others are judged
    locked = load_findings(sqlite_store, run.id, account_id=ids["locked"])
    assert locked and {f.status for f in locked} == {FindingStatus.ERROR}
    assert all(f"{ROLE} not assumable in {ids['locked']}" in f.reason for f in locked)
    volumes = {f.account_id: f.status for f in load_findings(sqlite_store, run.id, check_id="ec2.ebs_volume_encrypted")}
    assert volumes[ids["member"]] == volumes[ids["delegated"]] == FindingStatus.FAIL
    skipped = {ids["closed"], "999999999999"}
    assert not [f for f in load_findings(sqlite_store, run.id) if f.account_id in skipped]


def test_org_outside_an_organization_fails_the_run_saying_so(sqlite_store: EvidenceStore) -> None:
    with fake_aws_env(), mock_aws():
        scope = CollectionScope(session=boto3.Session(region_name=REGION), org=True, max_attempts=1)
        with pytest.raises(CollectionFailed, match=f"the caller's account {MANAGEMENT} is in no AWS Organization"):
            collect(sqlite_store, scope, trigger="cli", requested_by="t")


def test_the_role_arn_is_in_the_partition_of_the_home_region() -> None:
    with fake_aws_env():
        arns = {
            region: role_arn(ROLE, "222222222222", partition=partition_for_region(region))
            for region in ("us-east-1", "us-gov-west-1", "cn-north-1")
        }
        with pytest.raises(ScopeError, match="belongs to no AWS partition"):
            partition_for_region("xx-nowhere-1")
    assert arns == {
        "us-east-1": "arn:aws:iam::222222222222:role/AuditpackReader",
        "us-gov-west-1": "arn:aws-us-gov:iam::222222222222:role/AuditpackReader",
        "cn-north-1": "arn:aws-cn:iam::222222222222:role/AuditpackReader",
    }


def test_govcloud_collection_assumes_the_role_in_aws_us_gov(sqlite_store: EvidenceStore) -> None:
    assumed: list[str] = []
    with fake_aws_env(AWS_DEFAULT_REGION="us-gov-west-1"), mock_aws():
        base = boto3.Session(region_name="us-gov-west-1")
        base.events.register(
            "before-call.sts.AssumeRole", lambda params, **_: assumed.append(params["body"]["RoleArn"])
        )
        scope = CollectionScope(session=base, accounts=("222222222222",), role_name=ROLE, regions=("us-gov-west-1",))
        run = collect(sqlite_store, scope, trigger="cli", requested_by="t")
    assert assumed == ["arn:aws-us-gov:iam::222222222222:role/AuditpackReader"]
    [account] = [r.payload for r in sqlite_store.iter_evidence(run.id, kinds=["collection.account"])]
    assert account["RoleArn"] == "arn:aws-us-gov:iam::222222222222:role/AuditpackReader"
