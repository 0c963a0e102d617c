"""Large documents stream in and out chunk by chunk: memory stays bounded, whatever the size."""

from __future__ import annotations

import hashlib
import tracemalloc
from collections.abc import Iterator

from sqlalchemy import Engine

from evidence.customer import service
from tests.evidence.customer.conftest import submit

SIZE = 50 * 1024 * 1024


class _Generated:
    """A 50 MB PDF-looking stream produced on the fly (never in memory as a whole)."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.block = hashlib.sha256(b"seed").digest() * 4096  # 128 KiB of incompressible-looking bytes
        self.first = True

    def read(self, size: int = -1) -> bytes:
        size = min(size if size > 0 else len(self.block), self.left, len(self.block))
        if size <= 0:
            return b""
        self.left -= size
        data = (b"%PDF-1.7\n" + self.block)[:size] if self.first else self.block[:size]
        self.first = False
        return data

    def seekable(self) -> bool:
        return False


def _drain(chunks: Iterator[bytes]) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def test_a_50_mb_document_streams_in_and_out_with_bounded_memory(engine: Engine) -> None:
    tracemalloc.start()
    try:
        item = submit(engine, stream=_Generated(SIZE))
        _, peak_in = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        size, sha = _drain(service.iter_content(engine, item.content_sha256))
        _, peak_out = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert item.size == size == SIZE and item.content_sha256 == sha
    # a few 1 MiB chunks in flight at most, never the document
    assert peak_in < SIZE / 5, f"peak {peak_in:,} bytes while storing"
    assert peak_out < SIZE / 5, f"peak {peak_out:,} bytes while reading"
