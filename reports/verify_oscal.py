"""A bundle's OSCAL documents against the manifest.

The generic checks hash every bundle file against `bundle_files` (under the CMS signature). This ties the
manifest's `oscal` entry (under the PDF's signature too) to them: each document it lists must be in the bundle
with the hash and size it records, and a packet that has OSCAL documents has all of them, so a document cannot be
dropped or swapped for another packet's without failing verification.
"""

from __future__ import annotations

from typing import Any

from reports.oscal import DOCUMENTS

MANIFEST = "manifest.json"


def oscal_problems(header: dict[str, Any]) -> list[str]:
    listed = header.get("oscal")
    if listed is None:  # a packet built without a bundle, or before auditpack wrote OSCAL
        return []
    documents = listed.get("documents") if isinstance(listed, dict) else None
    if not isinstance(documents, dict):
        return [f"{MANIFEST}: 'oscal' has no 'documents' object; expected each OSCAL document with its hash"]
    files = header.get("bundle_files")
    files = files if isinstance(files, dict) else {}
    problems = [
        f"{MANIFEST}: 'oscal' does not list the {name} document; expected all of {', '.join(DOCUMENTS)}"
        for name in DOCUMENTS
        if name not in documents
    ]
    for name, entry in sorted(documents.items()):
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            problems.append(f"{MANIFEST}: the OSCAL {name} entry names no file")
            continue
        bundled = files.get(entry["file"])
        if not isinstance(bundled, dict):
            problems.append(f"OSCAL {name}: {entry['file']} is not in {MANIFEST}'s bundle_files")
        elif (bundled.get("sha256"), bundled.get("size")) != (entry.get("sha256"), entry.get("size")):
            problems.append(
                f"OSCAL {name}: {entry['file']} has sha256 {bundled.get('sha256')} in bundle_files, but the "
                f"manifest's oscal entry records {entry.get('sha256')} ({entry.get('size')} bytes)"
            )
    return problems
