"""What a built packet lists of customer evidence: read from its bundle's manifest header."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from auditpack.api_executors import listed_customer_ids


def _bundle(tmp_path: Path, header: dict) -> Path:  # type: ignore[type-arg]
    path = tmp_path / "bundle.zip"
    body = json.dumps({"bundle_files": {}, "format": "auditpack-manifest/1", **header})[:-1] + ',"evidence":[\n\n]}\n'
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", body)
    return path


def test_the_ids_come_from_the_manifest_header(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, {"customer_evidence": [3, {"id": 5, "title": "x"}, "7", True], "exceptions": [2]})
    assert listed_customer_ids(bundle) == ((3, 5), (2,))


def test_a_packet_without_customer_sections_lists_none(tmp_path: Path) -> None:
    assert listed_customer_ids(_bundle(tmp_path, {"packet_id": "p"})) == ((), ())
