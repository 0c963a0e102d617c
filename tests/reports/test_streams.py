"""Export files (reports.streams): one deflate pass serves the PDF and the bundle; plain copies only when asked."""

from __future__ import annotations

import hashlib
import os
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reports.streams import CHUNK, ExportWriter, PartWriter, write_parts

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


@pytest.mark.parametrize("part_size", [0, 1, None])  # None: several chunks of compressible and random bytes
@pytest.mark.parametrize("keep_raw", [False, True])
def test_a_part_deflated_ahead_is_spliced_in_with_the_bytes_around_it(
    tmp_path: Path, part_size: int | None, keep_raw: bool
) -> None:
    """The manifests' evidence entries are compressed once (PartWriter) and spliced into both manifests: the file
    is the same stream of bytes as if written whole, for the zlib reader (its Adler-32 checked), the zip member's
    raw deflate, the hashes and the plain copy."""
    data = _content() if part_size is None else b"e" * part_size
    part_out = PartWriter(tmp_path / "entries.json", tmp_path / "entries.deflate")
    for start in range(0, len(data), 65_536):
        part_out.write(data[start : start + 65_536])
    part = part_out.finish()
    assert part.size == len(data) and part.plain_path.read_bytes() == data
    before = b'{"header":"' + b"h" * 100_000 + b'","evidence":['
    after = b"x" * 70_000 + b"]}\n"  # compressed after the part by the writer's own compressor
    out = ExportWriter(
        tmp_path,
        name="manifest.json",
        media_type="application/json",
        description="m",
        modified=MODIFIED,
        bundle=True,
        keep_raw=keep_raw,
    )
    held = write_parts(out, (before, part, after), skip=1)
    file = out.finish()
    whole = before[1:] + data + after
    assert held == len(before) + len(data) + len(after)
    assert (file.sha256, file.size, file.crc32) == (hashlib.sha256(whole).hexdigest(), len(whole), zlib.crc32(whole))
    assert file.zlib_path is not None
    stream = file.zlib_path.read_bytes()
    assert zlib.decompress(stream) == whole
    assert zlib.decompress(stream[2:-4], -15) == whole  # what the bundle's zip member holds
    assert (file.raw_path.read_bytes() == whole) if keep_raw else file.raw_path is None  # type: ignore[union-attr]
