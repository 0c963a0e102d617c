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
