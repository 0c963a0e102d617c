import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.errors import ConflictError, NotFoundError
from evidence.models import Blob, Evidence, RunStatus
from evidence.store import EvidenceStore
from tests.evidence.helpers import record_run


def test_evidence_round_trips_with_payload_metadata_and_utc_times(store: EvidenceStore) -> None:
    observed = datetime(2026, 11, 27, 1, 2, 3, 456789, tzinfo=UTC)
    payload = {"Rules": [{"SSEAlgorithm": "aws:kms"}], "owner": "Zoë", "n": 3}
    run = store.start_run(trigger="cli", requested_by="alice", scope={"regions": ["us-east-1"]})
    with store.recorder(run.id) as recorder:
        sha = recorder.add(
            account_id="222222222222",
            region="eu-west-1",
            service="s3",
            resource_type="bucket",
            resource_id="arn:aws:s3:::logs",
            kind="s3.bucket_encryption",
            payload=payload,
            observed_at=observed,
            owner="security",
        )
    sealed = store.finish_run(run.id)

    assert sealed.status == RunStatus.COMPLETE
    assert sealed.evidence_count == 1 and sealed.gap_count == 0
    assert sealed.digest and sealed.previous_digest is None and sealed.chain_seq == 1
    [record] = store.iter_evidence(run.id)
    assert record.payload == payload
    assert record.sha256 == sha
    assert record.observed_at == observed and record.observed_at.tzinfo is not None
    assert (record.account_id, record.region, record.owner) == ("222222222222", "eu-west-1", "security")
    assert store.load_payload(sha) == payload
    assert store.get_run(run.id).scope == {"regions": ["us-east-1"]}


def test_identical_payloads_are_stored_once_across_rows_and_runs(store: EvidenceStore) -> None:
    same = {"Status": "Enabled"}
    record_run(store, [same, same, {"Status": "Suspended"}])
    record_run(store, [{"Status": "Enabled"}])
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Evidence)) == 4
        assert session.scalar(select(func.count()).select_from(Blob)) == 2


def test_a_run_with_gaps_ends_partial_and_keeps_the_gaps(store: EvidenceStore) -> None:
    run = record_run(store, [{"a": 1}], gaps=[{"error_code": "AccessDenied", "operation": "GetBucketPolicy"}])
    assert run.status == RunStatus.PARTIAL and run.gap_count == 1
    [gap] = store.gaps(run.id)
    assert (gap.operation, gap.error_code, gap.region) == ("GetBucketPolicy", "AccessDenied", "eu-west-1")


def test_runs_chain_to_the_previous_sealed_run(store: EvidenceStore) -> None:
    first = record_run(store, [{"a": 1}])
    second = record_run(store, [{"a": 2}], status=RunStatus.FAILED)
    third = record_run(store, [{"a": 3}])
    assert second.previous_digest == first.digest
    assert third.previous_digest == second.digest
    assert [first.chain_seq, second.chain_seq, third.chain_seq] == [1, 2, 3]


def test_latest_run_skips_failed_interrupted_and_running_runs(store: EvidenceStore) -> None:
    good = record_run(store, [{"a": 1}])
    partial = record_run(store, [{"a": 2}], gaps=[{}])
    record_run(store, [{"a": 3}], status=RunStatus.FAILED)
    record_run(store, [{"a": 4}], status=RunStatus.INTERRUPTED)
    store.start_run(trigger="cli", requested_by="tests", scope={})
    latest = store.latest_run()
    assert latest is not None and latest.id == partial.id
    before_partial = store.latest_run(as_of=good.finished_at)
    assert before_partial is not None and before_partial.id == good.id
    assert store.latest_run(as_of=good.finished_at - timedelta(seconds=1)) is None


def test_a_sealed_run_accepts_no_more_evidence_and_is_sealed_once(store: EvidenceStore) -> None:
    run = record_run(store, [{"a": 1}])
    with pytest.raises(ConflictError, match="already ended"):
        store.finish_run(run.id)
    recorder = store.recorder(run.id)
    recorder.add(account_id="1", region="r", service="s", resource_type="t", resource_id="x", kind="k", payload={})
    with pytest.raises(ConflictError, match="not running"):
        recorder.close()
    with pytest.raises(NotFoundError):
        store.finish_run(999_999)


def test_concurrent_recording_from_many_threads_loses_nothing(store: EvidenceStore) -> None:
    run = store.start_run(trigger="cli", requested_by="tests", scope={})
    with store.recorder(run.id, batch_size=50) as recorder:

        def work(worker: int) -> None:
            for index in range(200):
                recorder.add(
                    account_id="111111111111",
                    region="us-east-1",
                    service="ec2",
                    resource_type="volume",
                    resource_id=f"vol-{worker}-{index}",
                    kind="ec2.volume",
                    payload={"worker": worker, "index": index % 7},
                )

        threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    sealed = store.finish_run(run.id)
    assert sealed.evidence_count == 1200
    assert len({record.resource_id for record in store.iter_evidence(run.id)}) == 1200
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Blob)) == 6 * 7
