"""What a packet's manifest recorded, held against the store: each kind of difference is named."""

from __future__ import annotations

from evidence.checks.thresholds import Thresholds
from evidence.expected_state import check_against_manifest, check_expected_head
from evidence.findings import finding_set, save_findings
from evidence.store import EvidenceStore
from tests.evidence.helpers import record_run


def _manifest(store: EvidenceStore, **overrides: object) -> dict[str, object]:
    head = store.chain_head()
    assert head is not None
    recorded = finding_set(store, head.id)
    manifest: dict[str, object] = {
        "packet_id": "p-1",
        "runs": [{"id": head.id, "digest": head.digest}],
        "period_runs": [],
        "store": {
            "chain_head": {"seq": head.chain_seq, "digest": head.digest},
            "findings": {str(head.id): recorded.digest if recorded else None},
        },
    }
    manifest.update(overrides)
    return manifest


def _sealed(store: EvidenceStore) -> list:  # type: ignore[type-arg]
    return sorted((run for run in store.list_runs() if run.digest), key=lambda run: run.chain_seq)


def test_an_unchanged_store_holds_what_the_packet_saw(store: EvidenceStore) -> None:
    run = record_run(store, [{"n": 1}])
    save_findings(store, run.id, [], thresholds=Thresholds())
    assert check_against_manifest(_manifest(store), _sealed(store), store.engine) == []


def test_a_rewritten_run_digest_is_named(store: EvidenceStore) -> None:
    run = record_run(store, [{"n": 1}])
    manifest = _manifest(store, runs=[{"id": run.id, "digest": "a" * 64}])
    problems = check_against_manifest(manifest, _sealed(store), store.engine)
    assert f"run {run.id} has digest {run.digest}, but p-1 saw {'a' * 64}: the run was rewritten" in problems


def test_a_manifest_without_store_state_is_said_so(store: EvidenceStore) -> None:
    run = record_run(store, [{"n": 1}])
    manifest = {"packet_id": "p-0", "runs": [{"id": run.id, "digest": run.digest}]}
    assert check_against_manifest(manifest, _sealed(store), store.engine) == [
        "p-0's manifest records no store state (built before auditpack recorded it)"
    ]


def test_findings_that_are_gone_are_named_with_no_digest(store: EvidenceStore) -> None:
    run = record_run(store, [{"n": 1}])
    manifest = _manifest(store)
    manifest["store"]["findings"] = {str(run.id): "b" * 64}  # type: ignore[index]
    problems = check_against_manifest(manifest, _sealed(store), store.engine)
    assert problems == [
        f"the findings of run {run.id} are not those p-1 saw (digest none, packet saw {'b' * 64}): "
        "they were re-evaluated or altered since"
    ]


def test_an_expected_head_still_in_the_chain_holds() -> None:
    assert check_expected_head(None, []) == []
    assert check_expected_head("c" * 64, []) == [
        f"the recorded chain head {'c' * 64} is not in the chain (head is now (empty)): "
        "sealed runs were deleted or rewritten since it was recorded"
    ]
