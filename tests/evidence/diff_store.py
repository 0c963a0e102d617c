"""Two small runs for the diff tests, recorded through the real store API (no moto): a security group that opens SSH
and changes owner, buckets added, removed and kept, a volume the newer run could not read (a gap), a trail status
whose delivery time moved (volatile), a region only the older run collected, the newer run's CloudTrail lookup of
the security group, and findings for both runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from evidence.checks.thresholds import Thresholds
from evidence.checks.types import Finding, FindingStatus
from evidence.findings import save_findings
from evidence.models import Run
from evidence.store import EvidenceStore

A1 = "111111111111"
A2 = "222222222222"
R = "us-east-1"
SG = f"arn:aws:ec2:{R}:{A1}:security-group/sg-0abc"
KEPT = "arn:aws:s3:::kept-bucket"
GONE = "arn:aws:s3:::gone-bucket"
NEW = "arn:aws:s3:::new-bucket"
VOLUME = f"arn:aws:ec2:{R}:{A1}:volume/vol-1"
TRAIL = f"arn:aws:cloudtrail:{R}:{A1}:trail/main"
OTHER = f"arn:aws:ec2:eu-west-1:{A2}:security-group/sg-0other"
T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
ACTOR = f"arn:aws:iam::{A1}:user/mallory"


def _group(rules: list[dict[str, Any]], owner: str) -> dict[str, Any]:
    return {
        "GroupId": "sg-0abc",
        "GroupName": "web",
        "IpPermissions": rules,
        "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
        "Tags": [{"Key": "Owner", "Value": owner}, {"Key": "Env", "Value": "prod"}],
    }


HTTPS = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
SSH = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}


def _item(resource_id: str, kind: str, payload: Any, *, account: str = A1, region: str = R) -> dict[str, Any]:
    service = kind.split(".")[0]
    return {
        "account_id": account,
        "region": region,
        "service": service,
        "resource_type": kind.split(".")[-1],
        "resource_id": resource_id,
        "kind": kind,
        "payload": payload,
    }


def _record(store: EvidenceStore, items: list[dict[str, Any]], gaps: list[dict[str, Any]], at: datetime) -> Run:
    """A run started and sealed at `at` (observed then too)."""
    store = EvidenceStore(store.engine, clock=lambda: at)
    run = store.start_run(trigger="cli", requested_by="tests", scope={"accounts": [A1]})
    with store.recorder(run.id) as recorder:
        for item in items:
            recorder.add(observed_at=at, **item)
        for gap in gaps:
            recorder.add_gap(observed_at=at, **gap)
    return store.finish_run(run.id)


def _finding(check_id: str, status: FindingStatus, resource_id: str, reason: str, region: str = R) -> Finding:
    return Finding(
        check_id=check_id,
        status=status,
        account_id=A1,
        region=region,
        resource_id=resource_id,
        reason=reason,
        evidence=(),
        observed_at=T0,
        resource_type="thing",
    )


def record_expiring_exception(store: EvidenceStore) -> int:
    """An exception for the two unencrypted buckets, approved before the older run and expiring before the newer
    one; returns its id."""
    from auditpack.settings import Settings
    from auditpack.wiring import customer_policy
    from evidence.customer import service
    from evidence.customer.policy import Actor, Role

    exception = service.request_exception(
        store.engine,
        policy=customer_policy(Settings()),
        actor=Actor("alice@example.com", Role.OFFICER),
        check_id="s3.default_encryption",
        resource_ids=[KEPT, GONE],
        justification="Legacy export bucket, replaced by the encrypted one in the next sprint.",
        compensating="Bucket policy denies every principal but the export job.",
        expires_at=T0 + timedelta(hours=12),
        now=T0 - timedelta(days=5),
    )
    reviewer = Actor("bob@example.com", Role.OFFICER)
    service.approve_exception(store.engine, exception_id=exception.id, actor=reviewer, now=T0 - timedelta(days=4))
    return exception.id


@dataclass(frozen=True)
class TwoRuns:
    before: Run
    after: Run


def record_two_runs(store: EvidenceStore, *, findings: bool = True) -> TwoRuns:
    status = {"IsLogging": True, "LatestDeliveryTime": "2026-11-20T01:00:00Z"}
    before = _record(
        store,
        [
            _item(SG, "ec2.security_group", _group([HTTPS], "team-a")),
            _item(KEPT, "s3.bucket", {"Name": "kept-bucket", "BucketRegion": R}),
            _item(GONE, "s3.bucket", {"Name": "gone-bucket", "BucketRegion": R}),
            _item(VOLUME, "ec2.volume", {"VolumeId": "vol-1", "Encrypted": False}),
            _item(TRAIL, "cloudtrail.trail_status", status),
            _item(f"{A1}/{R}/s3.bucket", "listing", {"resource_ids": [GONE, KEPT]}),
            _item(OTHER, "ec2.security_group", {"GroupId": "sg-0other"}, account=A2, region="eu-west-1"),
        ],
        [],
        T0,
    )
    later = T0 + timedelta(days=1)
    events = {
        "resource_name": "sg-0abc",
        "lookup_region": R,
        "window_start": "2026-11-20T02:00:00Z",
        "window_end": "2026-11-21T02:00:00Z",
        "unavailable_before": None,
        "truncated": False,
        "events": [
            {
                "event_id": "e-1",
                "event_name": "AuthorizeSecurityGroupIngress",
                "event_source": "ec2.amazonaws.com",
                "event_time": "2026-11-20T14:03:00Z",
                "actor_arn": ACTOR,
                "actor_type": "IAMUser",
                "source_ip": "203.0.113.9",
                "user_agent": "aws-cli/2.15",
                "error_code": None,
            }
        ],
    }
    after = _record(
        store,
        [
            _item(SG, "ec2.security_group", _group([SSH, HTTPS], "team-b")),
            _item(SG, "cloudtrail.change_events", events),
            _item(KEPT, "s3.bucket", {"Name": "kept-bucket", "BucketRegion": R}),
            _item(NEW, "s3.bucket", {"Name": "new-bucket", "BucketRegion": R}),
            _item(TRAIL, "cloudtrail.trail_status", {**status, "LatestDeliveryTime": "2026-11-21T01:00:00Z"}),
            _item(f"{A1}/{R}/s3.bucket", "listing", {"resource_ids": [KEPT, NEW]}),
        ],
        [
            {
                "account_id": A1,
                "region": R,
                "service": "ec2",
                "operation": "DescribeVolumes",
                "error_code": "AccessDenied",
                "message": "not authorized",
                "kind": "ec2.volume",
            }
        ],
        later,
    )
    if findings:
        save_findings(
            store,
            before.id,
            [
                _finding("ec2.sg_no_open_ssh", FindingStatus.PASS, SG, "no rule opens port 22"),
                _finding("s3.default_encryption", FindingStatus.FAIL, KEPT, "no default encryption"),
                _finding("s3.default_encryption", FindingStatus.FAIL, GONE, "no default encryption"),
                _finding("ec2.ebs_encrypted", FindingStatus.FAIL, VOLUME, "volume not encrypted"),
            ],
            thresholds=Thresholds(),
        )
        save_findings(
            store,
            after.id,
            [
                _finding("ec2.sg_no_open_ssh", FindingStatus.FAIL, SG, "tcp 22 open to 0.0.0.0/0"),
                _finding("s3.default_encryption", FindingStatus.FAIL, KEPT, "no default encryption"),
                _finding("s3.default_encryption", FindingStatus.FAIL, NEW, "no default encryption"),
                _finding("ec2.ebs_encrypted", FindingStatus.ERROR, VOLUME, "DescribeVolumes was denied"),
            ],
            thresholds=Thresholds(),
        )
    return TwoRuns(before=before, after=after)
