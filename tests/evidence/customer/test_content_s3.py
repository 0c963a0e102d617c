"""Customer documents in the S3 blob store: one write-once object per content, locked like the evidence payloads
(moto's Object Lock in-process), read back and verified by hash; altered or missing objects are caught."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from core.errors import VerificationError
from evidence.blobstore import S3BlobStore, S3Location, attach
from evidence.customer import service
from evidence.customer.models import Content, ContentChunk
from evidence.customer.verify import verify_customer
from tests.evidence.customer.conftest import PDF, submit
from tests.evidence.worm import locked_bucket

BUCKET = "customer-worm"
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def s3(engine: Engine) -> Iterator[Any]:
    with locked_bucket(BUCKET) as client:
        location = S3Location.parse(f"s3://{BUCKET}/audit")
        attach(engine, S3BlobStore(client, location, retention_days=30, clock=lambda: NOW))
        yield client


def _key(sha256: str) -> str:
    return f"audit/{sha256[:2]}/{sha256}"


def test_a_document_is_a_locked_object_and_reads_back_whole(engine: Engine, s3: Any) -> None:
    item = submit(engine)
    sha = hashlib.sha256(PDF).hexdigest()
    assert item.content_sha256 == sha
    head = s3.head_object(Bucket=BUCKET, Key=_key(sha))
    assert head["ObjectLockMode"] == "COMPLIANCE" and head["ObjectLockRetainUntilDate"] == NOW + timedelta(days=30)
    with engine.connect() as connection:  # the row names the content; no chunk rows hold its bytes
        assert connection.scalar(select(Content.chunk_count).where(Content.sha256 == sha)) == 0
        assert connection.scalar(select(func.count()).select_from(ContentChunk)) == 0
    assert b"".join(service.iter_content(engine, sha)) == PDF
    # the same bytes again: no second object
    submit(engine, title="Access control policy, again")
    assert len(s3.list_object_versions(Bucket=BUCKET).get("Versions", [])) == 1
    assert verify_customer(engine).intact


def test_an_altered_or_missing_document_object_is_caught(engine: Engine, s3: Any) -> None:
    submit(engine)
    sha = hashlib.sha256(PDF).hexdigest()
    s3.put_object(Bucket=BUCKET, Key=_key(sha), Body=PDF.replace(b"policy", b"POLICY"))  # a newer version
    with pytest.raises(VerificationError, match="altered"):
        b"".join(service.iter_content(engine, sha))
    [problem] = verify_customer(engine).problems
    assert "it was altered" in str(problem) and sha[:16] in str(problem)

    s3.delete_object(Bucket=BUCKET, Key=_key(sha))  # a delete marker hides every version
    with pytest.raises(VerificationError, match="missing"):
        b"".join(service.iter_content(engine, sha))
    [problem] = verify_customer(engine).problems
    assert "is missing" in str(problem)
