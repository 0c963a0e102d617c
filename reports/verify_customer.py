"""Customer evidence in a manifest against the files that carry it.

The generic checks already hash every attached (or bundled) file against `files` (or `bundle_files`). This ties
each `customer_evidence` entry to its file: the SHA-256 and size the packet shows for an item (recorded when it was
submitted) must be those of the file attached under the entry's name, so the table an auditor reads and the
document they open are the same.
"""

from __future__ import annotations

from typing import Any

MANIFEST = "manifest.json"


def customer_problems(header: dict[str, Any], *, listing: str, name_field: str) -> list[str]:
    """Problems with `header["customer_evidence"]` against `header[listing]`, files named by `name_field`.

    listing / name_field: "files" / "file" for the PDF's attachments, "bundle_files" / "bundle_file" for the zip.
    """
    entries = header.get("customer_evidence", [])
    if not isinstance(entries, list):
        return [f"{MANIFEST}: 'customer_evidence' is a {type(entries).__name__}; expected a list"]
    files = header.get(listing)
    files = files if isinstance(files, dict) else {}
    problems: list[str] = []
    for entry in entries:
        if not isinstance(entry, dict):
            problems.append(f"{MANIFEST}: a customer_evidence entry is a {type(entry).__name__}; expected an object")
            continue
        item, name = entry.get("id"), entry.get(name_field)
        if not isinstance(name, str):
            problems.append(f"customer evidence item {item}: {MANIFEST} names no {name_field}; expected its content")
            continue
        listed = files.get(name)
        if not isinstance(listed, dict):
            problems.append(f"customer evidence item {item}: {name} is not in {MANIFEST}'s {listing}")
            continue
        if (listed.get("sha256"), listed.get("size")) != (entry.get("sha256"), entry.get("size")):
            problems.append(
                f"customer evidence item {item}: {name} has sha256 {listed.get('sha256')} in {listing}, but the item "
                f"records {entry.get('sha256')} ({entry.get('size')} bytes)"
            )
    return problems
