"""Regions on a real estate: a region denied by a service control policy is ONE region-level gap and its regional
checks report error (never pass); a region where every call is refused collapses into one gap whatever AWS's
messages say; a role that merely lacks some permissions is not mistaken for a refused region.

moto evaluates no service control policy, so the refusals are AWS's answers planted with a botocore `before-call`
hook on the base session (member sessions inherit it), shaped per protocol as AWS sends them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from evidence.aws.calls import Failed
from evidence.aws.regions import HeldGap, collapse, denial
from evidence.aws.scope import CollectionScope
from evidence.checks.registry import check_functions
from evidence.checks.types import FindingStatus
from evidence.findings import load_findings
from evidence.orchestrator import collect
from evidence.store import EvidenceStore
from tests.moto_server import fake_aws_env

HOME = "us-east-1"
DENIED = "eu-west-3"
SCP = "with an explicit deny in a service control policy"
IDENTITY = "because no identity-based policy allows the action"
# AWS Control Tower's region deny exempts these services, among others: their calls succeed in a denied region.
CONTROL_TOWER_EXEMPT = ("kms", "config", "acm", "wafv2")


class _Status:
    status_code = 403


def deny_region(session: boto3.Session, region: str, *, why: str, exempt: tuple[str, ...] = ()) -> list[str]:
    """Refuse every call to `region` (but `exempt` services) the way AWS does; returns the operations refused."""
    refused: list[str] = []

    def answer(model: Any, context: dict[str, Any], **_: Any) -> tuple[_Status, dict[str, Any]] | None:
        service = model.service_model.service_name
        if context.get("client_region") != region or service in exempt:
            return None
        refused.append(f"{service}.{model.name}")
        protocol = model.service_model.protocol
        code = {"ec2": "UnauthorizedOperation", "query": "AccessDenied", "rest-xml": "AccessDenied"}.get(
            protocol, "AccessDeniedException"
        )
        action = f"{model.service_model.signing_name}:{model.name}"
        message = f"User: arn:aws:sts::123456789012:assumed-role/Auditor/s is not authorized to perform: {action} {why}"
        return _Status(), {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 403}}

    session.events.register_first("before-call", answer)
    return refused


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    with fake_aws_env(), mock_aws():
        session = boto3.Session(region_name=HOME)
        session.client("ec2", region_name=DENIED).create_volume(AvailabilityZone=f"{DENIED}a", Size=8)
        session.client("kms", region_name=DENIED).create_key()
        yield session


def _regional_checks() -> set[str]:
    return {check_id for check_id, entry in check_functions().items() if entry.regional}


def _assert_region_is_one_gap_and_every_regional_check_errors(store: EvidenceStore, run_id: int) -> str:
    gaps = [g for g in store.gaps(run_id) if g.region == DENIED]
    assert [(g.kind, g.account_id) for g in gaps] == [("collection.region", "123456789012")], gaps
    # nothing of the region is evidence: not the region record, not the KMS key the exempt service would list
    assert [r for r in store.iter_evidence(run_id) if r.region == DENIED] == []
    there = [f for f in load_findings(store, run_id) if f.region == DENIED]
    assert {f.check_id for f in there} == _regional_checks()
    assert {f.status for f in there} == {FindingStatus.ERROR}
    assert all(f"denied in {DENIED}" in f.reason for f in there)
    # the home region is collected and judged as usual
    home = {f.status for f in load_findings(store, run_id) if f.region == HOME}
    assert FindingStatus.FAIL in home
    return gaps[0].message


def test_a_region_denied_by_a_service_control_policy_is_one_gap_found_at_entry(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    refused = deny_region(aws, DENIED, why=SCP, exempt=CONTROL_TOWER_EXEMPT)
    scope = CollectionScope(session=aws, regions=(HOME, DENIED), max_attempts=1)
    run = collect(sqlite_store, scope, trigger="cli", requested_by="t")
    message = _assert_region_is_one_gap_and_every_regional_check_errors(sqlite_store, run.id)
    assert message.startswith(
        f"denied in {DENIED} by a service control policy: UnauthorizedOperation on ec2:DescribeVpcs (User: "
    )
    assert "AccessDeniedException on logs:DescribeLogGroups" in message
    # found by the two probes: no collector ran there (KMS, exempt, was never asked)
    assert refused == ["ec2.DescribeVpcs", "logs.DescribeLogGroups"]
    assert run.stats["operations"]["kms.ListKeys"]["calls"] == 1  # the home region's


def test_a_region_where_every_call_is_refused_collapses_into_one_gap(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    # A policy on aws:RequestedRegion in the role itself: AWS's messages name no service control policy, so the
    # probes cannot tell it from missing permissions; the collectors run, and every one of their calls is refused.
    refused = deny_region(aws, DENIED, why=IDENTITY)
    scope = CollectionScope(session=aws, regions=(HOME, DENIED), max_attempts=1)
    run = collect(sqlite_store, scope, trigger="cli", requested_by="t")
    message = _assert_region_is_one_gap_and_every_regional_check_errors(sqlite_store, run.id)
    assert len(set(refused)) > 20
    assert message.startswith(f"denied in {DENIED}: every one of the ")
    assert "calls made there was refused: " in message and message.endswith(
        "as when a service control policy or another policy refuses the whole region"
    )
    [there] = [s for s in run.stats["scopes"] if s["region"] == DENIED]
    assert there == {
        "account_id": "123456789012",
        "region": DENIED,
        "evidence": 0,
        "gaps": 1,
        "api_calls": len(refused),
    }


def test_a_region_where_some_services_answer_keeps_its_gaps_one_by_one(
    aws: boto3.Session, sqlite_store: EvidenceStore
) -> None:
    # Refused everywhere but KMS and its friends, and AWS does not say why: not "every call", so each refusal stands
    deny_region(aws, DENIED, why=IDENTITY, exempt=CONTROL_TOWER_EXEMPT)
    scope = CollectionScope(session=aws, regions=(HOME, DENIED), max_attempts=1)
    run = collect(sqlite_store, scope, trigger="cli", requested_by="t")
    gaps = [g for g in sqlite_store.gaps(run.id) if g.region == DENIED]
    assert len(gaps) > 10 and "collection.region" not in {g.kind for g in gaps}
    assert {g.error_code for g in gaps} <= {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}
    keys = {f.resource_id: f.status for f in load_findings(sqlite_store, run.id, check_id="kms.key_rotation_enabled")}
    assert list(keys.values()) == [FindingStatus.FAIL]  # the key KMS listed there is judged
    volumes = load_findings(sqlite_store, run.id, check_id="ec2.ebs_volume_encrypted")
    assert {f.status for f in volumes if f.region == DENIED} == {FindingStatus.ERROR}


def _failed(call: str, code: str, why: str) -> Failed:
    return Failed(call, code, f"User: x is not authorized to perform: {call} {why}")


def test_probes_declare_a_region_denied_only_when_aws_names_a_service_control_policy() -> None:
    both = [
        _failed("ec2.DescribeVpcs", "UnauthorizedOperation", SCP),
        _failed("logs.DescribeLogGroups", "AccessDeniedException", SCP),
    ]
    assert (denial("eu-south-1", both) or "").startswith(
        "denied in eu-south-1 by a service control policy: UnauthorizedOperation on ec2:DescribeVpcs (User: x"
    )
    # the role may merely lack these two permissions: collect, and let the region's own calls decide
    assert denial("eu-south-1", [_failed("ec2.DescribeVpcs", "UnauthorizedOperation", IDENTITY)] * 2) is None
    assert denial("eu-south-1", both[:1]) is None  # the second probe answered
    assert denial("eu-south-1", [both[0], _failed("logs.DescribeLogGroups", "ThrottlingException", SCP)]) is None


def test_collapse_needs_every_call_refused_and_none_answered() -> None:
    def held(operation: str, code: str = "AccessDenied") -> HeldGap:
        return HeldGap("111111111111", "eu-south-1", "rds", operation, code, "not authorized", "rds.x", None)

    refused = [held("DescribeDBInstances"), held("DescribeDBClusters"), held("DescribeDBSnapshots")]
    assert collapse("eu-south-1", refused, answered=0) == (
        "denied in eu-south-1: every one of the 3 calls made there was refused: AccessDenied on "
        "rds:DescribeDBInstances (not authorized); AccessDenied on rds:DescribeDBClusters (not authorized); "
        "AccessDenied on rds:DescribeDBSnapshots (not authorized), as when a service control policy or another "
        "policy refuses the whole region"
    )
    assert collapse("eu-south-1", refused, answered=1) is None  # something there answered
    assert collapse("eu-south-1", [*refused, held("DescribeEvents", "Throttling")], answered=0) is None
    assert collapse("eu-south-1", refused[:1], answered=0) is None  # one refused operation proves nothing
