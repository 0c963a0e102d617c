"""Collection under failure: AccessDenied (moto's IAM enforcement), throttling past retries, disabled
regions, unusable credentials, an Organization that cannot be listed, Ctrl-C. Gaps and errors, never a crash
and never a pass."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws
from moto.core.authorization import enable_iam_authentication

from evidence.aws.accounts import CollectionFailed
from evidence.aws.regions import RegionChoice, choose_regions
from evidence.aws.scope import CollectionScope
from evidence.checks.types import FindingStatus
from evidence.findings import load_findings
from evidence.models import RunStatus
from evidence.orchestrator import collect
from evidence.store import EvidenceStore
from tests.moto_server import fake_aws_env, free_port

REGION = "us-east-1"
ERROR = FindingStatus.ERROR


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


def _policy(*actions: str) -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}
    )


def _org_with_limited_role(base: boto3.Session, *, can_assume: bool = True) -> tuple[str, dict[str, str]]:
    """An Organization with one member whose role 'limited' may read only a few things, and the access key of a
    management-account user allowed to list the Organization and assume roles."""
    org = base.client("organizations")
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(Email="m@example.com", AccountName="member")["CreateAccountStatus"]["AccountId"]
    iam = base.client("iam")
    iam.create_user(UserName="auditor")
    iam.put_user_policy(
        UserName="auditor",
        PolicyName="collect",
        PolicyDocument=_policy(
            "organizations:ListAccounts",
            "sts:GetCallerIdentity",
            "ec2:DescribeRegions",
            *(["sts:AssumeRole"] if can_assume else []),
        ),
    )
    key = iam.create_access_key(UserName="auditor")["AccessKey"]
    creds = base.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole", RoleSessionName="setup"
    )["Credentials"]
    inside = boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=REGION,
    )
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{base.client('sts').get_caller_identity()['Account']}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    inside.client("iam").create_role(RoleName="limited", AssumeRolePolicyDocument=json.dumps(trust))
    inside.client("iam").put_role_policy(
        RoleName="limited",
        PolicyName="partial-read",
        PolicyDocument=_policy(
            "iam:GetAccountSummary", "ec2:DescribeRegions", "ec2:DescribeVolumes", "s3:ListAllMyBuckets"
        ),
    )
    inside.client("s3").create_bucket(Bucket="member-data")
    inside.client("ec2").create_volume(AvailabilityZone=f"{REGION}a", Size=8)
    return member, {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}


def test_access_denied_is_a_gap_and_an_error_finding(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    member, key = _org_with_limited_role(aws)
    with enable_iam_authentication():
        auditor = boto3.Session(region_name=REGION, **key)
        scope = CollectionScope(session=auditor, org=True, role_name="limited", regions=(REGION,), max_attempts=1)
        run = collect(sqlite_store, scope, trigger="cli", requested_by="tests")
    assert run.status == RunStatus.PARTIAL
    gaps = sqlite_store.gaps(run.id)
    denied = {(g.service, g.operation) for g in gaps if g.account_id == member and g.error_code == "AccessDenied"}
    assert {
        ("iam", "GetAccountPasswordPolicy"),
        ("rds", "DescribeDBInstances"),
        ("s3", "GetBucketEncryption"),
    } <= denied
    findings = {(f.check_id, f.account_id): f for f in load_findings(sqlite_store, run.id)}
    policy = findings[("iam.password_policy_strong", member)]
    assert policy.status == ERROR and "iam:GetAccountPasswordPolicy failed (AccessDenied" in policy.reason
    bucket = findings[("s3.default_encryption", member)]
    assert bucket.status == ERROR and bucket.resource_id == "arn:aws:s3:::member-data"
    # a role lacking permissions is not a region refused as a whole: each refusal stays its own gap
    assert "collection.region" not in {g.kind for g in gaps}
    # what the role may read is judged normally: its volume is listed and unencrypted
    assert findings[("ec2.ebs_volume_encrypted", member)].status == FindingStatus.FAIL
    assert findings[("iam.root_mfa_enabled", member)].status == FindingStatus.FAIL
    assert all(
        f.status != FindingStatus.PASS
        for f in load_findings(sqlite_store, run.id, account_id=member)
        if f.check_id.startswith(("rds.", "kms.", "logs.", "guardduty.", "config."))
    )


def test_a_role_that_cannot_be_assumed_makes_the_account_an_error_everywhere(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    member, key = _org_with_limited_role(aws, can_assume=False)
    with enable_iam_authentication():
        auditor = boto3.Session(region_name=REGION, **key)
        scope = CollectionScope(
            session=auditor, accounts=(member,), role_name="limited", regions=(REGION,), max_attempts=1
        )
        run = collect(sqlite_store, scope, trigger="cli", requested_by="tests")
    gaps = sqlite_store.gaps(run.id)
    assert [(g.account_id, g.operation, g.kind) for g in gaps] == [(member, "AssumeRole", "collection.account")]
    assert gaps[0].message.startswith(f"limited not assumable in {member}: AccessDenied (")
    findings = load_findings(sqlite_store, run.id)
    assert {f.status for f in findings} == {ERROR}
    assert {f.check_id for f in findings} == set(
        __import__("evidence.checks.registry", fromlist=["check_ids"]).check_ids()
    )
    assert all(f.account_id == member and "AssumeRole" in f.reason for f in findings)


def _throttle(operation: str) -> Any:
    body = (
        b"<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message>"
        b"</Error></Errors><RequestID>r</RequestID></Response>"
    )

    class Raw:
        def stream(self, **_: Any) -> Iterator[bytes]:
            yield body

    def answer(request: Any, **kwargs: Any) -> AWSResponse | None:
        if kwargs["event_name"].endswith(operation):
            return AWSResponse(request.url, 503, {}, Raw())
        return None

    return answer


def test_throttling_past_retries_is_a_gap_with_the_error_code(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    aws.client("ec2").create_volume(AvailabilityZone=f"{REGION}a", Size=8)
    aws.events.register_first("before-send.ec2.DescribeVolumes", _throttle("DescribeVolumes"))
    run = collect(
        sqlite_store, CollectionScope(session=aws, regions=(REGION,), max_attempts=2), trigger="cli", requested_by="t"
    )
    throttled = [g for g in sqlite_store.gaps(run.id) if g.operation == "DescribeVolumes"]
    assert [(g.error_code, g.kind) for g in throttled] == [("RequestLimitExceeded", "ec2.volume")]
    assert run.stats["operations"]["ec2.DescribeVolumes"] == {
        **run.stats["operations"]["ec2.DescribeVolumes"],
        "errors": 1,
        "retries": 1,
    }
    volumes = load_findings(sqlite_store, run.id, check_id="ec2.ebs_volume_encrypted")
    assert [(f.status, f.resource_id.endswith("/ec2.volume")) for f in volumes] == [(ERROR, True)]


def test_unknown_regions_are_gaps_and_regions_not_opted_in_are_out_of_scope(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    scope = CollectionScope(session=aws, regions=(REGION, "ap-east-1", "us-east-9"), max_attempts=1)
    run = collect(sqlite_store, scope, trigger="cli", requested_by="t")
    refused = {g.region: g for g in sqlite_store.gaps(run.id) if g.kind == "collection.region"}
    assert set(refused) == {"us-east-9"}
    assert refused["us-east-9"].error_code == "RegionNotEnabled" and "does not know" in refused["us-east-9"].message
    # ap-east-1 (moto's opt-in regions start not opted in) can hold nothing: out of scope, said once, no gap
    assert run.stats["out_of_scope"]["regions"] == [
        {"region": "ap-east-1", "opt_in_status": "not-opted-in", "accounts": ["123456789012"]}
    ]
    account = next(sqlite_store.iter_evidence(run.id, kinds=["collection.account"]))
    assert account.payload["RegionsNotOptedIn"] == ["ap-east-1"]
    guardduty = {f.region: f.status for f in load_findings(sqlite_store, run.id, check_id="guardduty.enabled")}
    assert guardduty == {REGION: FindingStatus.FAIL, "us-east-9": ERROR}
    assert {f.region for f in load_findings(sqlite_store, run.id, check_id="iam.root_mfa_enabled")} == {"global"}


def test_without_regions_every_enabled_region_is_chosen(aws: boto3.Session) -> None:
    described = aws.client("ec2").describe_regions(AllRegions=True)["Regions"]
    choice = choose_regions((), described, REGION)
    enabled = {r["RegionName"] for r in described if r["OptInStatus"] in ("opt-in-not-required", "opted-in")}
    assert {region for region, _ in choice.collect} == enabled and choice.refused == []
    assert "ap-east-1" not in enabled  # moto's opt-in regions start not opted in
    assert {region for region, _ in choice.not_opted_in} == {r["RegionName"] for r in described} - enabled
    # a region list that could not be read: the requested regions (or the home region) as they are
    assert choose_regions((), None, "eu-west-1") == RegionChoice(collect=[("eu-west-1", "unknown")])


def test_an_unreachable_endpoint_fails_the_run(sqlite_store: EvidenceStore) -> None:
    with fake_aws_env(AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}"):
        scope = CollectionScope(session=boto3.Session(region_name=REGION), max_attempts=1, connect_timeout=1)
        with pytest.raises(CollectionFailed, match="cannot identify the AWS caller") as raised:
            collect(sqlite_store, scope, trigger="cli", requested_by="t")
    run = sqlite_store.get_run(raised.value.run_id)
    assert run.status == RunStatus.FAILED and "EndpointConnectionError" in (run.error or "")
    assert sqlite_store.latest_run() is None  # a failed run is never the latest evidence


def test_an_organization_that_cannot_be_listed_fails_the_run(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    aws.client("organizations").create_organization(FeatureSet="ALL")
    iam = aws.client("iam")
    iam.create_user(UserName="outsider")
    iam.put_user_policy(UserName="outsider", PolicyName="p", PolicyDocument=_policy("sts:GetCallerIdentity"))
    key = iam.create_access_key(UserName="outsider")["AccessKey"]
    with enable_iam_authentication():
        outsider = boto3.Session(
            region_name=REGION, aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
        )
        with pytest.raises(CollectionFailed, match="organizations:ListAccounts: AccessDenied") as raised:
            collect(
                sqlite_store,
                CollectionScope(session=outsider, org=True, max_attempts=1),
                trigger="cli",
                requested_by="t",
            )
    assert sqlite_store.get_run(raised.value.run_id).status == RunStatus.FAILED


def test_suspended_accounts_are_recorded_but_not_collected(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    org = aws.client("organizations")
    org.create_organization(FeatureSet="ALL")
    closed = org.create_account(Email="c@example.com", AccountName="closed")["CreateAccountStatus"]["AccountId"]
    org.close_account(AccountId=closed)
    notes: list[str] = []

    class Progress:
        def planned(self, account_id: str, region: str, tasks: int) -> None: ...
        def completed(self, account_id: str, region: str) -> None: ...
        def note(self, message: str) -> None:
            notes.append(message)

    run = collect(
        sqlite_store,
        CollectionScope(session=aws, org=True, regions=(REGION,), max_attempts=1),
        trigger="cli",
        requested_by="t",
        progress=Progress(),
    )
    listed = [r.payload for r in sqlite_store.iter_evidence(run.id, kinds=["organizations.account"])]
    assert {a["Id"]: a["Status"] for a in listed}[closed] == "SUSPENDED"
    assert all("Email" not in a for a in listed)
    assert {r.account_id for r in sqlite_store.iter_evidence(run.id, kinds=["collection.account"])} == {"123456789012"}
    assert notes == [f"1 account(s) of the Organization are not ACTIVE and were not collected: {closed} (SUSPENDED)"]
    assert run.stats["out_of_scope"]["accounts"] == [{"account_id": closed, "name": "closed", "state": "SUSPENDED"}]
    assert run.stats["organization"]["caller_is_management_account"] is True


def test_ctrl_c_marks_the_run_interrupted(aws: boto3.Session, sqlite_store: EvidenceStore) -> None:
    class Interrupt:
        def planned(self, account_id: str, region: str, tasks: int) -> None:
            raise KeyboardInterrupt

        def completed(self, account_id: str, region: str) -> None: ...
        def note(self, message: str) -> None: ...

    with pytest.raises(KeyboardInterrupt):
        collect(sqlite_store, CollectionScope(session=aws), trigger="cli", requested_by="t", progress=Interrupt())
    assert sqlite_store.list_runs()[0].status == RunStatus.INTERRUPTED


def test_an_account_regions_clients_are_released_when_its_last_task_ends() -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from evidence.work import NoProgress, Tasks

    idle: list[tuple[str, str]] = []
    gate = threading.Event()
    with ThreadPoolExecutor(max_workers=4) as pool:
        tasks = Tasks(pool, NoProgress(), threading.Event())
        tasks.on_idle = lambda account, region: idle.append((account, region))
        tasks.spawn_many([(gate.wait, "111111111111", "eu-west-1"), (lambda: None, "111111111111", "eu-west-1")])
        tasks.spawn(lambda: None, "111111111111", "us-east-1")
        gate.set()
        tasks.wait()
    assert sorted(idle) == [("111111111111", "eu-west-1"), ("111111111111", "us-east-1")]  # once each, at the end


def test_released_clients_are_made_again_on_demand() -> None:
    from evidence.aws.session import AccountSession, client_config

    with fake_aws_env():
        session = AccountSession(
            "123456789012", config=client_config(CollectionScope(), pool_size=2), boto_session=boto3.Session()
        )
        west, east = session.client("ec2", "eu-west-1"), session.client("ec2", "us-east-1")
        session.release("eu-west-1")
        assert session.client("ec2", "us-east-1") is east
        assert session.client("ec2", "eu-west-1") is not west


def test_a_held_region_is_not_idle_until_its_work_is_scheduled_and_done() -> None:
    """A region's probe may end before another region's task schedules its collectors: held, it is idle once, at
    the very end (its held gaps are settled then, not before its collectors ran)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from evidence.work import NoProgress, Tasks

    idle: list[tuple[str, str]] = []
    ran: list[str] = []
    probed_a = threading.Event()
    with ThreadPoolExecutor(max_workers=4) as pool:
        tasks = Tasks(pool, NoProgress(), threading.Event())
        tasks.on_idle = lambda account, region: idle.append((account, region))

        def last_probe() -> None:
            probed_a.wait()
            tasks.spawn(lambda: ran.append("a-collector"), "111111111111", "eu-west-1")
            tasks.release("111111111111", "eu-west-1")
            tasks.release("111111111111", "us-east-1")

        tasks.hold("111111111111", "eu-west-1")
        tasks.hold("111111111111", "us-east-1")
        tasks.spawn_many([(probed_a.set, "111111111111", "eu-west-1"), (last_probe, "111111111111", "us-east-1")])
        tasks.wait()
    assert ran == ["a-collector"]
    assert sorted(idle) == [("111111111111", "eu-west-1"), ("111111111111", "us-east-1")]  # once each
