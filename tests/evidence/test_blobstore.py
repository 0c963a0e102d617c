"""The default blob store: the database's `blobs` table behind the same interface as S3 (put if absent, get, exists)."""

from __future__ import annotations

import hashlib
import zlib

import pytest
from sqlalchemy import Engine, update

from core.errors import NotFoundError, VerificationError
from evidence.blobstore import blob_store
from evidence.models import Blob
from evidence.store import EvidenceStore
from tests.evidence.helpers import record_run


def test_the_database_store_puts_if_absent_and_reads_back_checked(engine: Engine) -> None:
    store = blob_store(engine)
    assert not store.external
    content = b'{"Status":"Enabled"}'
    sha256 = hashlib.sha256(content).hexdigest()
    assert not store.exists(sha256)
    assert store.put_many({sha256: content}) == 1
    assert store.put_many({sha256: content}) == 0  # content-addressed: already there
    assert store.exists(sha256) and store.get(sha256) == content
    with engine.begin() as connection:
        connection.execute(update(Blob).where(Blob.sha256 == sha256).values(data=zlib.compress(b'{"Status":"Off"}')))
    with pytest.raises(VerificationError, match=f"evidence payload {sha256} was altered"):
        store.get(sha256)
    with pytest.raises(NotFoundError):
        store.get("0" * 64)


def test_an_evidence_store_without_an_attached_store_keeps_payloads_in_the_database(store: EvidenceStore) -> None:
    run = record_run(store, [{"a": 1}])
    [record] = store.iter_evidence(run.id)
    assert not store.blobs.external and store.blobs.get(record.sha256) == b'{"a":1}'
