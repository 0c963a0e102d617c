"""Who changed it: CloudTrail lookups of what changed since the previous run, recorded as chained evidence of the
run being collected. moto has no LookupEvents (docs FACTS), so the answers come from botocore's Stubber; the
collection path itself is exercised under moto, where the missing API is a gap and the capture still seals."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from evidence.aws.calls import CallStats
from evidence.aws.scope import CollectionScope
from evidence.aws.session import AccountSession, client_config
from evidence.changes.attribute import LookupSettings, attribute_changes
from evidence.changes.lookup import RETENTION
from evidence.changes.throttle import Throttles, TokenBucket
from evidence.collectors.context import RunContext
from evidence.collectors.registry import iam_policy
from evidence.diff.engine import RunDiff
from evidence.models import Run, RunStatus
from evidence.orchestrator import collect
from evidence.owners import OwnerMap
from evidence.store import EvidenceStore
from evidence.verification import verify_store
from tests.moto_server import fake_aws_env

ACCOUNT = "123456789012"
REGION = "us-east-1"
SG = f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/sg-0abc"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/deploy"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234"
LOGS = f"{ACCOUNT}/{REGION}/vpc-flow-logs"  # an account setting: no CloudTrail name
NOW = datetime(2026, 11, 21, 2, 30, tzinfo=UTC)
ACTOR = f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/mallory"
REFUSED = f"arn:aws:sts::{ACCOUNT}:assumed-role/ReadOnly/eve"


class FakeTime:
    """A clock that moves only when something sleeps on it; records every wait."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(round(seconds, 6))
        self.now += seconds


def _record(store: EvidenceStore, run_id: int, items: dict[str, tuple[str, str, Any]]) -> None:
    with store.recorder(run_id) as recorder:
        for resource_id, (region, kind, payload) in items.items():
            recorder.add(
                account_id=ACCOUNT,
                region=region,
                service=kind.split(".")[0],
                resource_type=kind.split(".")[1],
                resource_id=resource_id,
                kind=kind,
                payload=payload,
            )


def _two_runs(store: EvidenceStore, *, previous_at: datetime) -> tuple[Run, Run]:
    """A sealed previous run and a running one in which the security group, the role and the key changed and the
    flow-log setting changed too."""
    earlier = EvidenceStore(store.engine, clock=lambda: previous_at)
    previous = earlier.start_run(trigger="schedule", requested_by="t", scope={"regions": [REGION]})
    _record(
        earlier,
        previous.id,
        {
            SG: (REGION, "ec2.security_group", {"IpPermissions": []}),
            ROLE: ("global", "iam.role", {"MaxSessionDuration": 3600}),
            KEY: (REGION, "kms.key", {"Enabled": True}),
            LOGS: (REGION, "ec2.flow_logs", {"FlowLogs": []}),
        },
    )
    earlier.finish_run(previous.id)
    current = store.start_run(trigger="schedule", requested_by="t", scope={"regions": [REGION]})
    _record(
        store,
        current.id,
        {
            SG: (REGION, "ec2.security_group", {"IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22}]}),
            ROLE: ("global", "iam.role", {"MaxSessionDuration": 43200}),
            KEY: (REGION, "kms.key", {"Enabled": False}),
            LOGS: (REGION, "ec2.flow_logs", {"FlowLogs": [{"FlowLogId": "fl-1"}]}),
        },
    )
    return previous, current


def _event(name: str, *, read_only: bool, error: str | None = None, actor: str = ACTOR) -> dict[str, Any]:
    detail = {
        "eventID": f"id-{name}",
        "userIdentity": {"type": "AssumedRole", "arn": actor, "accessKeyId": "ASIAEXAMPLE"},
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "console.amazonaws.com",
        "requestParameters": {"groupId": "sg-0abc"},
        **({"errorCode": error} if error else {}),
    }
    return {
        "EventId": f"id-{name}",
        "EventName": name,
        "ReadOnly": "true" if read_only else "false",
        "AccessKeyId": "ASIAEXAMPLE",
        "EventTime": datetime(2026, 11, 20, 14, 3, tzinfo=UTC),
        "EventSource": "ec2.amazonaws.com",
        "Username": "mallory",
        "Resources": [{"ResourceType": "AWS::EC2::SecurityGroup", "ResourceName": "sg-0abc"}],
        "CloudTrailEvent": json.dumps(detail),
    }


def _lookup(name: str, start: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": name}],
        "StartTime": start,
        "EndTime": NOW,
        "MaxResults": 50,
        **extra,
    }


def _context(store: EvidenceStore, run: Run, stubbed: dict[str, Any]) -> tuple[RunContext, AccountSession, Any]:
    recorder = store.recorder(run.id)
    context = RunContext(
        recorder=recorder,
        stats=CallStats(),
        owners=OwnerMap(),
        spawn=lambda fn, account, region: fn(),
        stop=threading.Event(),
    )
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name=REGION)
    account = AccountSession(ACCOUNT, config=client_config(CollectionScope(), pool_size=2), boto_session=session)
    for region, client in stubbed.items():
        account.use_client("cloudtrail", region, client)
    return context, account, recorder


def _cloudtrail(region: str) -> Any:
    return boto3.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name=region).client(
        "cloudtrail", region_name=region
    )


def test_changed_resources_are_looked_up_and_their_writers_recorded_as_chained_evidence(store: EvidenceStore) -> None:
    previous, current = _two_runs(store, previous_at=NOW - timedelta(days=1))
    east, iam_home = _cloudtrail(REGION), _cloudtrail("us-east-1")
    start = previous.started_at
    with Stubber(east) as regional:
        # The security group: two pages; the read-only event is not a change and is left out.
        regional.add_response(
            "lookup_events",
            {"Events": [_event("DescribeSecurityGroups", read_only=True)], "NextToken": "page-2"},
            _lookup("sg-0abc", start),
        )
        regional.add_response(
            "lookup_events",
            {
                "Events": [
                    _event("AuthorizeSecurityGroupIngress", read_only=False),
                    _event("RevokeSecurityGroupEgress", read_only=False, error="UnauthorizedOperation", actor=REFUSED),
                ]
            },
            _lookup("sg-0abc", start, NextToken="page-2"),
        )
        # The key (CloudTrail files KMS keys by ARN): a failure past retries is a gap, never a guess.
        regional.add_client_error("lookup_events", "AccessDeniedException", "not authorized", 400, _lookup(KEY, start))
        # The role is global: its events are in us-east-1 (the same stubbed client here), by role name.
        regional.add_response("lookup_events", {"Events": []}, _lookup("deploy", start))
        context, account, recorder = _context(store, current, {REGION: east})
        del iam_home
        time = FakeTime()
        figures = attribute_changes(
            store,
            current,
            context,
            {ACCOUNT: account},
            home_region=REGION,
            settings=LookupSettings(),
            now=lambda: NOW,
            clock=time.clock,
            sleep=time.sleep,
        )
        recorder.close()
        regional.assert_no_pending_responses()
    sealed = store.finish_run(current.id)
    assert sealed.status == RunStatus.PARTIAL  # the key's lookup failed: a gap
    # Four requests in one (account, region): each waits its turn at two a second.
    assert time.waits == [0.5, 0.5, 0.5]
    assert figures == {
        "previous_run": previous.id,
        "enabled": True,
        "window_start": start.isoformat(),
        "window_end": NOW.isoformat(),
        "changed_resources": 3,  # the flow-log setting has no CloudTrail name
        "limit": 500,
        "not_looked_up": 0,
        "looked_up": 3,
        "with_events": 1,
        "failed": 1,
    }
    [gap] = store.gaps(current.id)
    assert (gap.operation, gap.error_code, gap.kind, gap.resource_id) == (
        "LookupEvents",
        "AccessDeniedException",
        "cloudtrail.change_events",
        KEY,
    )
    recorded = {e.resource_id: e for e in store.iter_evidence(current.id, kinds={"cloudtrail.change_events"})}
    assert set(recorded) == {SG, ROLE}
    assert recorded[ROLE].region == "global" and recorded[ROLE].payload["events"] == []
    sg = recorded[SG].payload
    assert sg["since_run"] == previous.id and sg["pages"] == 2 and sg["unavailable_before"] is None
    assert [(e["event_name"], e["actor_arn"], e["source_ip"], e["error_code"]) for e in sg["events"]] == [
        ("AuthorizeSecurityGroupIngress", ACTOR, "198.51.100.7", None),
        ("RevokeSecurityGroupEgress", REFUSED, "198.51.100.7", "UnauthorizedOperation"),
    ]
    assert "ASIAEXAMPLE" not in str(sg) and "requestParameters" not in str(sg)
    assert verify_store(store.engine).intact  # chained like every other evidence item of the run
    # The diff says who changed the group, that the key's lookup failed, and nothing for the setting.
    diff = {d.resource_id: d.lookup for d in RunDiff.open(store, previous.id, current.id).resources()}
    assert diff[SG] is not None and diff[SG].actors == (ACTOR,)  # the refused attempt is not a writer
    assert diff[KEY] is not None and diff[KEY].status == "failed" and "AccessDeniedException" in str(diff[KEY].message)
    assert diff[ROLE] is not None and diff[ROLE].status == "none"
    assert diff[LOGS] is None


def test_a_window_beyond_cloudtrails_90_days_says_what_cannot_be_looked_up(store: EvidenceStore) -> None:
    _previous, current = _two_runs(store, previous_at=NOW - timedelta(days=120))
    east = _cloudtrail(REGION)
    earliest = NOW - RETENTION + timedelta(minutes=10)
    with Stubber(east) as regional:
        regional.add_response("lookup_events", {"Events": []}, _lookup("sg-0abc", earliest))
        context, account, recorder = _context(store, current, {REGION: east})
        time = FakeTime()
        figures = attribute_changes(
            store,
            current,
            context,
            {ACCOUNT: account},
            home_region=REGION,
            settings=LookupSettings(limit=1),
            now=lambda: NOW,
            clock=time.clock,
            sleep=time.sleep,
        )
        recorder.close()
    assert figures["not_looked_up"] == 2 and figures["looked_up"] == 1  # the limit: the group first (a checked kind)
    [item] = store.iter_evidence(current.id, kinds={"cloudtrail.change_events"})
    assert item.resource_id == SG
    assert item.payload["unavailable_before"] == "2026-08-23T02:40:00Z"
    assert item.payload["window_start"] == item.payload["unavailable_before"]


def test_no_previous_run_or_lookups_turned_off_looks_nothing_up(store: EvidenceStore) -> None:
    first = store.start_run(trigger="cli", requested_by="t", scope={})
    context, account, recorder = _context(store, first, {})
    assert attribute_changes(
        store, first, context, {ACCOUNT: account}, home_region=REGION, settings=LookupSettings()
    ) == {
        "previous_run": None,
        "enabled": True,
    }
    recorder.close()
    previous, current = _two_runs(store, previous_at=NOW - timedelta(days=1))
    context, account, recorder = _context(store, current, {})
    off = LookupSettings(enabled=False)
    assert attribute_changes(store, current, context, {ACCOUNT: account}, home_region=REGION, settings=off) == {
        "previous_run": previous.id,
        "enabled": False,
    }
    recorder.close()


@pytest.mark.usefixtures("sqlite_only")
def test_token_buckets_pace_each_account_and_region_on_its_own() -> None:
    time = FakeTime()
    bucket = TokenBucket(2.0, clock=time.clock, sleep=time.sleep)
    assert [bucket.acquire() for _ in range(4)] == [0.0, 0.5, 0.5, 0.5]
    time.now += 10  # idle: the bucket refills, but holds one token at most (no burst)
    assert [bucket.acquire() for _ in range(2)] == [0.0, 0.5]
    throttles = Throttles(2.0, clock=time.clock, sleep=time.sleep)
    assert throttles.bucket("1", "us-east-1") is throttles.bucket("1", "us-east-1")
    assert throttles.bucket("1", "us-east-1").acquire() == 0.0
    assert throttles.bucket("1", "eu-west-1").acquire() == 0.0  # another region, its own limit
    assert throttles.bucket("2", "us-east-1").acquire() == 0.0  # another account
    assert throttles.bucket("1", "us-east-1").acquire() == 0.5
    with pytest.raises(ValueError, match="rate > 0"):
        TokenBucket(0)


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        yield boto3.Session(region_name=REGION)


@pytest.mark.usefixtures("sqlite_only")
def test_a_capture_looks_up_what_changed_since_the_previous_run_and_seals_when_the_lookup_is_a_gap(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    assert "cloudtrail:LookupEvents" in iam_policy()["Statement"][0]["Action"]  # declared, so in the policy
    ec2 = aws.client("ec2")
    group = ec2.create_security_group(GroupName="web", Description="web")["GroupId"]
    [described] = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"]
    arn = described.get("SecurityGroupArn") or f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{group}"
    scope = CollectionScope(session=aws, regions=(REGION,), max_attempts=1)
    # The previous capture (recorded directly: one collection is enough): the group had no rule then.
    previous = sqlite_store.start_run(trigger="schedule", requested_by="t", scope=scope.describe())
    _record(sqlite_store, previous.id, {arn: (REGION, "ec2.security_group", {**described, "IpPermissions": []})})
    sqlite_store.finish_run(previous.id)
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    # Everything else in the region is new to the previous run; the changed group ranks first within the limit.
    run = collect(sqlite_store, scope, trigger="cli", requested_by="t", changes=LookupSettings(limit=1))
    lookups = run.stats["change_lookups"]
    assert lookups["previous_run"] == previous.id and lookups["looked_up"] == lookups["failed"] == 1
    assert lookups["not_looked_up"] == lookups["changed_resources"] - 1 > 0
    [gap] = [g for g in sqlite_store.gaps(run.id) if g.kind == "cloudtrail.change_events"]
    assert (gap.resource_id, gap.operation, gap.region) == (arn, "LookupEvents", REGION)
    assert run.status == RunStatus.PARTIAL and run.sealed  # moto lacks the API: a gap, and the run is sealed
    assert verify_store(sqlite_store.engine).intact
