"""The diff of two runs as one streamed merge (both backends): resources added, removed, changed and unread (a gap
is never a removal), field-level changes in words, findings newly failing, resolved, still failing and unverified,
the newer run's CloudTrail lookup as who changed it, regions only one run collected said once, and paging that
resumes at a resource."""

from __future__ import annotations

import pytest

from core.errors import ConflictError, NotFoundError, StoreError
from evidence.diff.engine import RunDiff, latest_pair, previous_run
from evidence.diff.fields import FieldChange, diff_json
from evidence.diff.merge import grouped_merge
from evidence.diff.render import describe
from evidence.diff.types import DiffTally, FindingChangeKind, ItemChange, ResourceChange
from evidence.store import EvidenceStore
from tests.evidence.diff_store import A2, ACTOR, GONE, KEPT, NEW, SG, VOLUME, record_two_runs


def test_a_diff_reports_each_resource_once_with_what_changed_and_who_changed_it(store: EvidenceStore) -> None:
    runs = record_two_runs(store)
    diff = RunDiff.open(store, runs.before.id, runs.after.id)
    tally = DiffTally()
    found = {d.resource_id: tally.observe(d) for d in diff.resources()}

    # Resource order: the account, then the region, then the resource id (code point order).
    assert list(found) == sorted(found, key=lambda r: (found[r].account_id, found[r].region, r))
    assert {r: d.change for r, d in found.items()} == {
        SG: ResourceChange.CHANGED,
        KEPT: ResourceChange.UNCHANGED,  # reported for its finding, still failing
        GONE: ResourceChange.REMOVED,
        NEW: ResourceChange.ADDED,
        VOLUME: ResourceChange.UNREAD,  # the newer run was denied DescribeVolumes: not a removal
    }
    [group] = found[SG].kinds
    assert group.kind == "ec2.security_group" and group.change is ItemChange.CHANGED
    assert group.lines == ("IpPermissions: added tcp 22 from 0.0.0.0/0", "Tags[Key=Owner].Value: team-a -> team-b")
    assert found[VOLUME].kinds[0].change is ItemChange.UNREAD_NOW

    assert {(r, f.check_id, f.change) for r, d in found.items() for f in d.findings} == {
        (SG, "ec2.sg_no_open_ssh", FindingChangeKind.NEWLY_FAILING),
        (KEPT, "s3.default_encryption", FindingChangeKind.STILL_FAILING),
        (GONE, "s3.default_encryption", FindingChangeKind.RESOLVED),
        (NEW, "s3.default_encryption", FindingChangeKind.NEWLY_FAILING),
        (VOLUME, "ec2.ebs_encrypted", FindingChangeKind.UNVERIFIED),  # an error now is not a resolution
    }
    lookup = found[SG].lookup
    assert lookup is not None and lookup.actors == (ACTOR,)
    assert lookup.events[0].event_name == "AuthorizeSecurityGroupIngress"
    assert lookup.events[0].source_ip == "203.0.113.9"
    assert all(found[r].lookup is None for r in (KEPT, GONE, NEW))

    # The trail's delivery time moved (volatile), the bucket listing changed (said by the resources themselves),
    # the security group of the region only the older run collected: none is a resource of this diff.
    assert diff.places_only_before == ((A2, "eu-west-1"),) and diff.places_only_after == ()
    assert tally.as_dict()["resources"] == {"added": 1, "removed": 1, "changed": 1, "unread": 1}
    assert tally.as_dict()["findings"] == {"newly_failing": 2, "resolved": 1, "still_failing": 1, "unverified": 1}
    assert tally.attributed == 1


def test_paging_resumes_after_the_last_resource_of_a_page(store: EvidenceStore) -> None:
    runs = record_two_runs(store)
    diff = RunDiff.open(store, runs.before.id, runs.after.id)
    everything = [d.resource_id for d in diff.resources()]
    pages: list[list[str]] = []
    after = None
    while True:
        page = []
        for resource in diff.resources(after=after):
            page.append(resource)
            if len(page) == 2:
                break
        if not page:
            break
        pages.append([d.resource_id for d in page])
        after = page[-1].key  # what the API's cursor carries
    assert [r for page in pages for r in page] == everything
    assert [d.resource_id for d in diff.resources(include_unchanged=False)] == [r for r in everything if r != KEPT]


def test_accounts_and_checks_narrow_the_diff(store: EvidenceStore) -> None:
    runs = record_two_runs(store)
    other_account = RunDiff.open(store, runs.before.id, runs.after.id, accounts={A2})
    assert list(other_account.resources()) == [] and other_account.places_only_before == ((A2, "eu-west-1"),)
    one_check = RunDiff.open(store, runs.before.id, runs.after.id, check_ids={"ec2.sg_no_open_ssh"})
    assert {(d.resource_id, f.check_id) for d in one_check.resources() for f in d.findings} == {
        (SG, "ec2.sg_no_open_ssh")
    }


def test_runs_without_findings_are_compared_on_evidence_alone(store: EvidenceStore) -> None:
    runs = record_two_runs(store, findings=False)
    diff = RunDiff.open(store, runs.before.id, runs.after.id)
    assert not diff.findings_compared
    assert {d.resource_id for d in diff.resources()} == {SG, GONE, NEW, VOLUME}


def test_choosing_runs(store: EvidenceStore) -> None:
    with pytest.raises(NotFoundError, match="needs two complete or partial runs; the store holds 0"):
        latest_pair(store)
    runs = record_two_runs(store)
    assert [run.id for run in latest_pair(store)] == [runs.before.id, runs.after.id]
    assert previous_run(store, runs.after).id == runs.before.id  # type: ignore[union-attr]
    assert previous_run(store, runs.before) is None
    with pytest.raises(ConflictError, match="compared with itself"):
        RunDiff.open(store, runs.after.id, runs.after.id)
    running = store.start_run(trigger="cli", requested_by="t", scope={})
    with pytest.raises(ConflictError, match=f"run {running.id} is still running"):
        RunDiff.open(store, runs.after.id, running.id)
    assert RunDiff.open(store, runs.after.id, running.id, allow_running=True).after.id == running.id


@pytest.mark.usefixtures("sqlite_only")
def test_fields_are_matched_by_identity_and_lists_are_multisets() -> None:
    before = {"Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}], "Ports": [1, 2], "Gone": True}
    after = {"Tags": [{"Key": "b", "Value": "3"}, {"Key": "c", "Value": "4"}], "Ports": [2, 1, 3], "New": {"x": 1}}
    assert diff_json(before, after) == [
        FieldChange("Gone", "removed", before=True),
        FieldChange("New", "added", after={"x": 1}),
        FieldChange("Ports[]", "added", after=3),
        FieldChange("Tags[Key=a]", "removed", before={"Key": "a", "Value": "1"}),
        FieldChange("Tags[Key=b].Value", "changed", before="2", after="3"),
        FieldChange("Tags[Key=c]", "added", after={"Key": "c", "Value": "4"}),
    ]
    assert diff_json({"Ports": [1, 2]}, {"Ports": [2, 1]}) == []  # AWS lists come back in any order
    # Volatile fields (volatile.yaml) are no change; the rest of the payload still is.
    assert describe("logs.log_group", {"storedBytes": 1, "retention": 7}, {"storedBytes": 9, "retention": 7}) == (
        (),
        (),
    )
    _fields, lines = describe("logs.log_group", {"storedBytes": 1, "retention": 7}, {"storedBytes": 9, "retention": 30})
    assert lines == ("retention: 7 -> 30",)


@pytest.mark.usefixtures("sqlite_only")
def test_security_group_rules_are_said_as_rules() -> None:
    before = {"IpPermissions": [], "IpPermissionsEgress": []}
    after = {
        "IpPermissions": [
            {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": "sg-1", "UserId": "111111111111"}]},
            {"IpProtocol": "udp", "FromPort": 1000, "ToPort": 2000, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
            {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "PrefixListIds": [{"PrefixListId": "pl-1"}]},
        ],
        "IpPermissionsEgress": [
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "vpc"}],
            }
        ],
    }
    _fields, lines = describe("ec2.security_group", before, after)
    assert lines == (
        "IpPermissions: added all traffic from group sg-1 of account 111111111111",
        "IpPermissions: added icmp from prefix list pl-1",
        "IpPermissions: added udp 1000-2000 from ::/0",
        "IpPermissionsEgress: added tcp 443 to 10.0.0.0/8 (vpc)",
    )
    _fields, lines = describe("ec2.security_group", after, before)
    assert lines[0] == "IpPermissions: removed all traffic from group sg-1 of account 111111111111"


@pytest.mark.usefixtures("sqlite_only")
def test_the_merge_refuses_a_stream_that_goes_backwards() -> None:
    merged = list(grouped_merge([iter([1, 2, 2, 5]), iter([2, 3])], key=lambda x: x))
    assert merged == [(1, [[1], []]), (2, [[2, 2], [2]]), (3, [[], [3]]), (5, [[5], []])]
    with pytest.raises(StoreError, match="went backwards"):
        list(grouped_merge([iter([1, 3, 2])], key=lambda x: x))


def test_a_database_not_in_byte_order_is_asked_for_it(store: EvidenceStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL with a linguistic collation (en_US: "a" < "B"), the merge asks for COLLATE "C": same diff."""
    from evidence.diff import order

    runs = record_two_runs(store)
    expected = [(d.key, d.change) for d in RunDiff.open(store, runs.before.id, runs.after.id).resources()]
    if store.engine.dialect.name == "postgresql":
        assert order.byte_ordered(store.engine)  # the test database is C.UTF-8
    monkeypatch.setattr(order, "byte_ordered", lambda engine: engine.dialect.name != "postgresql")
    resumed = RunDiff.open(store, runs.before.id, runs.after.id).resources(after=expected[0][0])
    assert [(d.key, d.change) for d in resumed] == expected[1:]
