"""The bundle's zip container, read strictly: every byte belongs to one entry, the central directory or the end
records, and each entry's local header agrees with its central directory record.

The signed manifest covers file contents, not the container. Zip readers tolerate bytes before the first entry,
between entries and after the end record, and disagree about which local header or which copy of a name counts
(`unzip` and Python's `zipfile` extract different data from such a file). A bundle must leave room for one
reading only, so anything the container holds beyond its entries is a problem here.
"""

from __future__ import annotations

import struct
import zipfile
from collections import Counter
from typing import BinaryIO

from reports.bundle_files import MANIFEST

LOCAL = struct.Struct("<4sHHHHHIIIHH")  # signature, version, flags, method, time, date, crc, csize, usize, n, m
EOCD = struct.Struct("<4sHHHHIIH")  # signature, disk, cd disk, entries here, entries, cd size, cd offset, comment
ZIP64_LOCATOR = struct.Struct("<4sIQI")
ZIP64_EOCD = struct.Struct("<4sQHHIIQQQQ")  # ... entries here, entries, cd size, cd offset
DESCRIPTOR = b"PK\x07\x08"
ENCRYPTED, HAS_DESCRIPTOR, UTF8 = 0x1, 0x8, 0x800
METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}


def _read(handle: BinaryIO, offset: int, size: int) -> bytes:
    handle.seek(offset)
    return handle.read(size)


def _end_records(handle: BinaryIO, size: int, problems: list[str]) -> tuple[int, int, int]:
    """(where the central directory starts, where the end record says it starts, entries declared)."""
    tail_start = max(0, size - EOCD.size - 0xFFFF)
    tail = _read(handle, tail_start, size - tail_start)
    eocd = tail_start + tail.rfind(b"PK\x05\x06")  # zipfile found this record, or it would have refused the file
    _, _, _, _, entries, cd_size, cd_offset, comment = EOCD.unpack(_read(handle, eocd, EOCD.size))
    end = eocd + EOCD.size + comment
    if comment:
        problems.append(f"the zip carries a {comment}-byte comment; auditpack writes none and no signature covers it")
    if end < size:
        problems.append(f"{size - end:,} byte(s) follow the zip's end record; expected the file to end with it")
    cd_end = eocd
    locator = _read(handle, eocd - ZIP64_LOCATOR.size, ZIP64_LOCATOR.size) if eocd >= ZIP64_LOCATOR.size else b""
    if locator.startswith(b"PK\x06\x07"):
        cd_end = eocd - ZIP64_LOCATOR.size - ZIP64_EOCD.size
        record = _read(handle, cd_end, ZIP64_EOCD.size) if cd_end >= 0 else b""
        if len(record) != ZIP64_EOCD.size or not record.startswith(b"PK\x06\x06"):
            problems.append("the zip64 end record is not right before its locator; expected auditpack's layout")
            return 0, 0, entries
        fields = ZIP64_EOCD.unpack(record)
        if fields[1] != ZIP64_EOCD.size - 12:
            problems.append(f"the zip64 end record holds {fields[1] - ZIP64_EOCD.size + 12:,} extra byte(s)")
        entries, cd_size, cd_offset = fields[7], fields[8], fields[9]
    return cd_end - cd_size, cd_offset, entries


def _zip64_sizes(extra: bytes, csize: int, usize: int) -> tuple[int, int]:
    """Sizes from a local header's zip64 extra field, where the 32-bit fields say 0xFFFFFFFF."""
    while len(extra) >= 4:
        tag, length = struct.unpack_from("<HH", extra)
        if tag == 1:
            values = list(struct.unpack_from(f"<{min(length, 16) // 8}Q", extra, 4))
            if usize == 0xFFFFFFFF and values:
                usize = values.pop(0)
            if csize == 0xFFFFFFFF and values:
                csize = values.pop(0)
            break
        extra = extra[4 + length :]
    return csize, usize


def _entry(handle: BinaryIO, info: zipfile.ZipInfo, problems: list[str]) -> int:
    """Check one entry's local header against the central directory; returns where the entry ends."""
    name = info.filename
    header = _read(handle, info.header_offset, LOCAL.size) if info.header_offset >= 0 else b""
    if len(header) < LOCAL.size or not header.startswith(b"PK\x03\x04"):
        problems.append(f"zip entry {name!r}: no local header at byte {info.header_offset:,}")
        return info.header_offset
    _, _, flags, method, _, _, crc, csize, usize, n, m = LOCAL.unpack(header)
    raw_name = _read(handle, info.header_offset + LOCAL.size, n)
    extra = _read(handle, info.header_offset + LOCAL.size + n, m)
    local_name = raw_name.decode("utf-8" if flags & UTF8 else "cp437", errors="replace")
    if local_name != info.orig_filename:
        problems.append(f"zip entry {name!r}: its local header names it {local_name!r}; a zip tool may use either")
    end = info.header_offset + LOCAL.size + n + m + info.compress_size
    if flags & HAS_DESCRIPTOR:  # crc and sizes follow the data: 4 or 8 bytes each, after an optional signature
        width = 8 if info.compress_size >= 0xFFFFFFFF or info.file_size >= 0xFFFFFFFF else 4
        descriptor = _read(handle, end, 4 + 4 + 2 * width)
        if descriptor.startswith(DESCRIPTOR):
            end, descriptor = end + 4, descriptor[4:]
        crc, csize, usize = struct.unpack_from("<I" + ("QQ" if width == 8 else "II"), descriptor.ljust(20, b"\0"))
        end += 4 + 2 * width
    else:
        csize, usize = _zip64_sizes(extra, csize, usize)
    local = {"method": method, "crc": crc, "compressed size": csize, "size": usize}
    central = {"method": info.compress_type, "crc": info.CRC, "compressed size": info.compress_size}
    central["size"] = info.file_size
    for field, value in local.items():
        if value != central[field]:
            problems.append(
                f"zip entry {name!r}: its local header gives {field} {value}, the central directory {central[field]}"
            )
    return end


def _name_problems(names: list[str]) -> list[str]:
    problems = []
    for name, count in sorted(Counter(names).items()):
        if count > 1:
            problems.append(
                f"{name} appears {count} times in the bundle; expected each file once (zip tools disagree about "
                "which copy they extract)"
            )
        if name.endswith("/"):
            problems.append(f"{name} is a directory entry in the bundle; expected only the files listed in {MANIFEST}")
    return problems


def layout_problems(handle: BinaryIO, size: int, infos: list[zipfile.ZipInfo]) -> list[str]:
    """Everything in the container beyond one entry per name, the central directory and the end records."""
    problems = _name_problems([info.filename for info in infos])
    cd_start, cd_offset, entries = _end_records(handle, size, problems)
    if entries != len(infos):
        problems.append(f"the zip's end record counts {entries} entries; its central directory holds {len(infos)}")
    for info in infos:
        if info.flag_bits & ENCRYPTED:
            problems.append(f"zip entry {info.filename!r} is encrypted; auditpack never encrypts")
        if info.compress_type not in METHODS:
            problems.append(f"zip entry {info.filename!r} uses compression method {info.compress_type}")
    position, previous = 0, None
    for info in sorted(infos, key=lambda i: i.header_offset):
        gap = info.header_offset - position
        if gap > 0 and previous is None:
            problems.append(f"{gap:,} byte(s) precede the first zip entry; expected it at byte 0")
        elif gap > 0:
            problems.append(
                f"{gap:,} byte(s) between zip entries {previous!r} and {info.filename!r} belong to no entry"
            )
        elif gap < 0 and previous is not None:
            problems.append(f"zip entry {info.filename!r} overlaps {previous!r}")
        position, previous = _entry(handle, info, problems), info.filename
    if infos and position < cd_start:
        problems.append(
            f"{cd_start - position:,} byte(s) between zip entry {previous!r} and the central directory belong to no "
            "entry"
        )
    elif position > cd_start:
        problems.append(f"zip entry {previous!r} runs into the central directory at byte {cd_start:,}")
    if cd_offset != cd_start:  # zipfile shifts every offset by the difference; other readers do not
        problems.append(
            f"the zip's offsets are off by {cd_start - cd_offset:,} byte(s): its end record places the central "
            f"directory at byte {cd_offset:,}, but it starts at byte {cd_start:,}"
        )
    return problems
