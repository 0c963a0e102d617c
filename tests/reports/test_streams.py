"""Export files (reports.streams): one deflate pass serves the PDF and the bundle; plain copies only when asked."""

from __future__ import annotations

import hashlib
import os
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reports.streams import CHUNK, ExportWriter

MODIFIED = datetime(2026, 12, 4, tzinfo=UTC)


def _content() -> bytes:
    # several chunks, compressible and not, so the writer's worker thread sees more than one buffer
    return b"".join(b'{"n":%d}\n' % i for i in range(300_000)) + os.urandom(CHUNK + 17)


def _write(work: Path, data: bytes, **flags: bool) -> ExportWriter:
    out = ExportWriter(
        work, name="data.ndjson", media_type="application/x-ndjson", description="d", modified=MODIFIED, **flags
    )
    for start in range(0, len(data), 65_536):
        out.write(data[start : start + 65_536])
    return out


def test_a_bundle_file_keeps_one_zlib_stream_with_its_crc_and_no_plain_copy(tmp_path: Path) -> None:
    data = _content()
    file = _write(tmp_path, data, bundle=True).finish()
    assert file.sha256 == hashlib.sha256(data).hexdigest() and file.size == len(data)
    assert file.crc32 == zlib.crc32(data)
    assert file.zlib_path is not None and file.zlib_path == file.deflated_path
    # ISA-L writes a standard zlib stream: what the PDF's FlateDecode and the zip member's deflate readers expect
    assert zlib.decompress(file.zlib_path.read_bytes()) == data
    assert file.raw_path is None
    assert sorted(path.name for path in tmp_path.iterdir()) == ["data.ndjson.zlib"]


def test_keep_raw_also_keeps_the_plain_bytes(tmp_path: Path) -> None:
    data = _content()
    file = _write(tmp_path, data, bundle=True, keep_raw=True, embed=False).finish()
    assert file.raw_path is not None and file.raw_path.read_bytes() == data
    assert file.deflated_path is None  # bundle-only: never embedded
    assert file.zlib_path is not None and zlib.decompress(file.zlib_path.read_bytes()) == data


def test_a_packet_without_a_bundle_keeps_no_zlib_path_for_one(tmp_path: Path) -> None:
    file = _write(tmp_path, b"a,b\n", bundle=False).finish()
    assert file.zlib_path is None and file.raw_path is None
    assert file.deflated_path is not None and zlib.decompress(file.deflated_path.read_bytes()) == b"a,b\n"


def test_a_file_written_nowhere_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="written nowhere"):
        ExportWriter(
            tmp_path, name="x", media_type="text/plain", description="x", modified=MODIFIED, bundle=False, embed=False
        )
