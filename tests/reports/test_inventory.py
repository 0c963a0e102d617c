"""The packet's ownership figures count resources, not the collection's own records (listings, accounts and
regions entered)."""

from __future__ import annotations

from evidence.store import EvidenceStore
from reports.inventory import collect_inventory

ACCOUNT = "111111111111"


def test_listings_and_collection_records_are_not_resources_without_an_owner(store: EvidenceStore) -> None:
    run = store.start_run(trigger="cli", requested_by="tests", scope={})
    with store.recorder(run.id) as recorder:
        common = {"account_id": ACCOUNT, "region": "us-east-1", "service": "s3", "resource_type": "bucket"}
        recorder.add(**common, resource_id="arn:aws:s3:::owned", kind="s3.bucket", payload={"n": 1}, owner="data")
        recorder.add(**common, resource_id="arn:aws:s3:::nobodys", kind="s3.bucket", payload={"n": 2})
        recorder.add(
            **{**common, "resource_type": "s3.bucket"},
            resource_id=f"{ACCOUNT}/global/s3.bucket",
            kind="listing",
            payload={"resource_ids": ["arn:aws:s3:::owned", "arn:aws:s3:::nobodys"]},
        )
        recorder.add(
            **{**common, "service": "collection", "resource_type": "region"},
            resource_id=f"{ACCOUNT}/us-east-1/region",
            kind="collection.region",
            payload={"RegionName": "us-east-1"},
        )
    store.finish_run(run.id)

    inventory = collect_inventory(store, [run.id])

    assert inventory.evidence_items == 4  # every item is still evidence of the packet
    assert inventory.unowned_count == 1
    assert [r.resource_id for r in inventory.unowned_sample] == ["arn:aws:s3:::nobodys"]
    assert [(w.service, w.owners, w.unowned) for w in inventory.workloads] == [("s3", (("data", 1),), 1)]


def test_what_collection_left_out_is_read_from_the_scope_evidence(store: EvidenceStore) -> None:
    from reports.body import _out_of_scope_text

    run = store.start_run(trigger="cli", requested_by="tests", scope={})
    with store.recorder(run.id) as recorder:
        account = {
            "region": "global",
            "service": "collection",
            "resource_type": "account",
            "kind": "collection.account",
        }
        for account_id, regions in ((ACCOUNT, ["ap-east-1", "me-south-1"]), ("222222222222", ["ap-east-1"])):
            recorder.add(
                **account,
                account_id=account_id,
                resource_id=f"arn:aws:iam::{account_id}:root",
                payload={"AccountId": account_id, "RegionsNotOptedIn": regions},
            )
        listed = {"account_id": ACCOUNT, "region": "global", "service": "organizations", "resource_type": "account"}
        for member, fields in (("222222222222", {"Status": "ACTIVE"}), ("333333333333", {"State": "SUSPENDED"})):
            recorder.add(
                **listed,
                kind="organizations.account",
                resource_id=f"arn:aws:organizations::{ACCOUNT}:account/o-x/{member}",
                payload={"Id": member, **fields},
            )
    store.finish_run(run.id)

    inventory = collect_inventory(store, [run.id])
    assert inventory.out_of_scope.regions == ("ap-east-1", "me-south-1")
    assert inventory.out_of_scope.accounts == (("333333333333", "SUSPENDED"),)
    assert _out_of_scope_text(inventory) == (
        "regions not opted in: ap-east-1, me-south-1; Organization accounts not active: 333333333333 (suspended)"
    )
    # a packet for one member account shows what its own records say
    assert collect_inventory(store, [run.id], accounts=["222222222222"]).out_of_scope.regions == ("ap-east-1",)


def test_the_unowned_sample_is_the_first_resources_by_account_region_and_id_and_the_counts_cover_all(
    store: EvidenceStore,
) -> None:
    run = store.start_run(trigger="cli", requested_by="tests", scope={})
    with store.recorder(run.id) as recorder:
        for n, (account, region, service) in enumerate(
            [(a, r, s) for a in ("222222222222", ACCOUNT) for r in ("us-west-2", "eu-west-1") for s in ("s3", "ec2")]
        ):
            for index in (3, 1, 2):
                recorder.add(
                    account_id=account,
                    region=region,
                    service=service,
                    resource_type="thing",
                    resource_id=f"arn:aws:{service}:{region}:{account}:thing/{index}",
                    kind=f"{service}.thing",
                    payload={"n": n, "index": index},
                    owner="ops" if index == 3 and service == "ec2" else None,
                )
    store.finish_run(run.id)

    inventory = collect_inventory(store, [run.id], unowned_limit=5)

    # 8 places x 3 resources, of which the 4 ec2 thing/3 are owned
    assert inventory.unowned_count == 20
    assert {(w.account_id, w.service): w.unowned for w in inventory.workloads} == {
        (ACCOUNT, "ec2"): 4,
        (ACCOUNT, "s3"): 6,
        ("222222222222", "ec2"): 4,
        ("222222222222", "s3"): 6,
    }
    assert [(r.account_id, r.region, r.resource_id) for r in inventory.unowned_sample] == [
        (ACCOUNT, "eu-west-1", f"arn:aws:ec2:eu-west-1:{ACCOUNT}:thing/1"),
        (ACCOUNT, "eu-west-1", f"arn:aws:ec2:eu-west-1:{ACCOUNT}:thing/2"),
        (ACCOUNT, "eu-west-1", f"arn:aws:s3:eu-west-1:{ACCOUNT}:thing/1"),
        (ACCOUNT, "eu-west-1", f"arn:aws:s3:eu-west-1:{ACCOUNT}:thing/2"),
        (ACCOUNT, "eu-west-1", f"arn:aws:s3:eu-west-1:{ACCOUNT}:thing/3"),
    ]
