"""Evidence payloads in S3 with Object Lock (compliance mode), against moto's Object Lock in-process (mock_aws).

moto 5.2.5 does not implement GetObjectRetention (it answers 500): the lock of an object is read from HeadObject,
which returns the same mode and retain-until date.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import Engine, func, select

from core.errors import StoreError, VerificationError
from evidence.blobstore import S3BlobStore, S3Location, attach
from evidence.models import Blob
from evidence.store import EvidenceStore
from evidence.verification import verify_store
from tests.evidence.helpers import record_run
from tests.evidence.worm import locked_bucket

BUCKET = "evidence-worm"
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def s3() -> Iterator[Any]:
    with locked_bucket(BUCKET) as client:
        yield client


@pytest.fixture
def worm(s3: Any) -> S3BlobStore:
    return S3BlobStore(s3, S3Location.parse(f"s3://{BUCKET}/audit/evidence"), retention_days=400, clock=lambda: NOW)


@pytest.fixture
def s3_store(engine: Engine, worm: S3BlobStore) -> EvidenceStore:
    attach(engine, worm)
    return EvidenceStore(engine)


def objects(s3: Any) -> list[dict[str, Any]]:
    return s3.list_object_versions(Bucket=BUCKET).get("Versions", [])


def test_payloads_land_as_objects_locked_in_compliance_mode_and_rows_keep_only_hashes(
    s3_store: EvidenceStore, s3: Any
) -> None:
    run = record_run(s3_store, [{"Status": "Enabled"}, {"Status": "Suspended"}])
    [first, second] = list(s3_store.iter_evidence(run.id))
    assert (first.payload, second.payload) == ({"Status": "Enabled"}, {"Status": "Suspended"})
    stored = objects(s3)
    assert sorted(v["Key"] for v in stored) == sorted(
        f"audit/evidence/{record.sha256[:2]}/{record.sha256}" for record in (first, second)
    )
    for record in (first, second):
        key = f"audit/evidence/{record.sha256[:2]}/{record.sha256}"
        head = s3.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
        assert head["ObjectLockMode"] == "COMPLIANCE"
        # sent with the put, so S3 checks the bytes it stores (moto records it but does not check it)
        assert base64.b64decode(head["ChecksumSHA256"]) == bytes.fromhex(record.sha256)
        assert head["ObjectLockRetainUntilDate"] == NOW + timedelta(days=400)
        body = s3.get_object(Bucket=BUCKET, Key=key)["Body"]
        assert hashlib.sha256(body.read()).hexdigest() == record.sha256
    with s3_store.sessions() as session:  # the database keeps each hash and size, not the bytes
        rows = session.execute(select(Blob.sha256, Blob.size, Blob.data)).all()
    assert {sha for sha, _size, _data in rows} == {first.sha256, second.sha256}
    assert all(size > 0 and data == b"" for _sha, size, data in rows)
    assert verify_store(s3_store.engine).intact


def test_a_second_identical_capture_adds_no_objects(s3_store: EvidenceStore, s3: Any) -> None:
    record_run(s3_store, [{"Status": "Enabled"}, {"Status": "Enabled"}, {"Status": "Suspended"}])
    before = objects(s3)
    again = record_run(s3_store, [{"Status": "Enabled"}, {"Status": "Suspended"}])
    assert objects(s3) == before and len(before) == 2
    assert [r.payload for r in s3_store.iter_evidence(again.id)] == [{"Status": "Enabled"}, {"Status": "Suspended"}]
    with s3_store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Blob)) == 2


def test_an_object_already_in_the_bucket_is_not_put_again(s3_store: EvidenceStore, worm: S3BlobStore, s3: Any) -> None:
    # e.g. a recorder that put its objects but died before writing the rows: HEAD before PUT finds them
    run = record_run(s3_store, [{"a": 1}])
    [record] = s3_store.iter_evidence(run.id)
    assert worm.put_many({record.sha256: b'{"a":1}'}) == 0
    assert len(objects(s3)) == 1


def test_s3_refuses_to_delete_or_shorten_a_locked_version(s3_store: EvidenceStore, s3: Any) -> None:
    record_run(s3_store, [{"a": 1}])
    [version] = objects(s3)
    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket=BUCKET, Key=version["Key"], VersionId=version["VersionId"])
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError):  # governance bypass does not apply to compliance mode
        s3.delete_object(
            Bucket=BUCKET, Key=version["Key"], VersionId=version["VersionId"], BypassGovernanceRetention=True
        )
    assert objects(s3) == [version]


def test_a_bucket_without_object_lock_is_refused(s3: Any) -> None:
    s3.create_bucket(Bucket="plain")
    with pytest.raises(StoreError, match="bucket plain does not have S3 Object Lock enabled"):
        S3BlobStore(s3, S3Location.parse("s3://plain/evidence"), retention_days=30)


def _overwrite(s3: Any, sha256: str, content: bytes) -> None:
    """What an attacker with s3:PutObject can do: a new version under the same key (the locked one stays)."""
    s3.put_object(Bucket=BUCKET, Key=f"audit/evidence/{sha256[:2]}/{sha256}", Body=content)


def test_an_object_altered_out_of_band_is_detected_by_reads_and_by_verify(s3_store: EvidenceStore, s3: Any) -> None:
    run = record_run(s3_store, [{"Status": "Enabled"}, {"Status": "Suspended"}])
    target = next(r.sha256 for r in s3_store.iter_evidence(run.id) if r.payload == {"Status": "Enabled"})
    _overwrite(s3, target, b'{"Status":"Disabled"}')
    key = f"s3://{BUCKET}/audit/evidence/{target[:2]}/{target}"
    with pytest.raises(VerificationError, match=f"object {key} was altered"):
        list(s3_store.iter_evidence(run.id))
    with pytest.raises(VerificationError, match="altered"):
        s3_store.load_payload(target)
    result = verify_store(s3_store.engine)
    assert not result.intact
    assert any(f"object {key} was altered" in str(problem) for problem in result.problems)


def test_a_missing_object_is_detected_by_reads_and_by_verify(s3_store: EvidenceStore, s3: Any) -> None:
    run = record_run(s3_store, [{"a": 1}])
    [record] = s3_store.iter_evidence(run.id)
    key = f"audit/evidence/{record.sha256[:2]}/{record.sha256}"
    s3.delete_object(Bucket=BUCKET, Key=key)  # a delete marker: allowed, and it hides the locked version
    with pytest.raises(VerificationError, match=f"object s3://{BUCKET}/{key} is missing"):
        list(s3_store.iter_evidence(run.id))
    result = verify_store(s3_store.engine)
    assert not result.intact
    assert any(f"object s3://{BUCKET}/{key} is missing" in str(problem) for problem in result.problems)


def test_reads_of_many_items_prefetch_in_batches(s3_store: EvidenceStore) -> None:
    payloads = [{"n": n} for n in range(1200)]
    run = record_run(s3_store, payloads)
    assert [r.payload for r in s3_store.iter_evidence(run.id, batch_size=250)] == payloads
