"""What a run's stored findings are checked against: a record hash per finding and a digest per evaluation.

Findings are conclusions, re-derivable from a sealed run's hashed evidence by pure checks. They are not part of
the run chain (re-evaluating with new thresholds or improved checks replaces them), so their integrity rests on
two things instead:

* every evaluation stores a *finding set* row: the thresholds and the check code (a fingerprint of
  `evidence/checks/`) that produced the findings, their count, and

      digest = SHA-256( "auditpack-findings-digest-v1\\n" || canonical_json(header) || "\\n"
                        || for each finding record hash, sorted: hash || "\\n" )

  so editing, adding or deleting a finding row no longer matches the stored digest. The record hashes and the
  digest use one canonical version (`core.canonical`), recorded in the set's `canonical_version`;
* the verdicts are *re-derived* from the evidence with the recorded thresholds (by `verify --store` and before
  every packet), so even a rewritten row together with a recomputed digest is caught: a packet never carries a
  verdict that the evidence it cites does not produce.

A set also records a *verdicts fingerprint* (`verdicts_fingerprint`: which check judged which resource how, without
reasons, evidence or times) and the oldest observation: runs of a period with equal fingerprints whose findings are
all fresh get the same control statuses, so `frameworks.history` evaluates them once. `verify --store` checks both
against the rows, like the digest.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from core.canonical import canonical_json, rfc3339, sha256_hex
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import Finding

FINDINGS_DOMAIN = b"auditpack-findings-digest-v1\n"
_VERDICTS_DOMAIN = b"auditpack-verdicts-v1\n"
_CHECKS_DIR = Path(__file__).resolve().parent / "checks"


def finding_key(finding: Finding) -> tuple[str, str, str, str]:
    """What identifies a verdict: one check on one resource (evaluation keeps one finding per key)."""
    return (finding.check_id, finding.account_id, finding.region, finding.resource_id)


def finding_record_hash(run_id: int, finding: Finding, *, canonical_version: int) -> str:
    """SHA-256 of the canonical JSON of every field of a finding, including the run it belongs to."""
    return sha256_hex(
        canonical_json(
            {
                "type": "finding",
                "run_id": run_id,
                "check_id": finding.check_id,
                "status": str(finding.status),
                "account_id": finding.account_id,
                "region": finding.region,
                "resource_id": finding.resource_id,
                "resource_type": finding.resource_type,
                "reason": finding.reason,
                "evidence": list(finding.evidence),
                "observed_at": rfc3339(finding.observed_at) if finding.observed_at else None,
                "owner": finding.owner,
            },
            version=canonical_version,
        )
    )


def findings_digest(header: Mapping[str, Any], record_hashes: Iterable[str], *, canonical_version: int) -> str:
    """The digest of one evaluation: its header (run, parameters, count) and every finding record hash."""
    digest = hashlib.sha256(FINDINGS_DOMAIN)
    digest.update(canonical_json(dict(header), version=canonical_version))
    digest.update(b"\n")
    for record in sorted(record_hashes):
        digest.update(record.encode("ascii") + b"\n")
    return digest.hexdigest()


def verdict_line(finding: Finding) -> bytes:
    """What a control status can depend on in one finding: which check judged which resource, the verdict, and
    whether it says when the resource was seen (a verdict without an observation time is stale). Not the reason,
    the evidence hashes, the owner or the observation time itself (staleness at a moment is decided from the
    oldest observation, `oldest_observed`)."""
    fields = [finding.check_id, str(finding.status), finding.account_id, finding.region, finding.resource_id]
    return json.dumps([*fields, finding.observed_at is None], ensure_ascii=True).encode("ascii") + b"\n"


def verdicts_fingerprint(lines: Iterable[bytes]) -> str:
    """SHA-256 over the sorted `verdict_line`s of a run's findings: two runs with equal fingerprints have the same
    verdicts on the same resources, so every control status that does not look at observation times is the same
    for both (`frameworks.history` evaluates such runs once)."""
    digest = hashlib.sha256(_VERDICTS_DOMAIN)
    for line in sorted(lines):
        digest.update(line)
    return digest.hexdigest()


def oldest_observed(findings: Iterable[Finding]) -> datetime | None:
    """The oldest observation any finding rests on (None: none carries one)."""
    return min((finding.observed_at for finding in findings if finding.observed_at is not None), default=None)


def set_header(*, run_id: int, thresholds: Mapping[str, Any], checks_version: str, count: int) -> dict[str, Any]:
    """The fields of a finding set its digest covers."""
    return {"run_id": run_id, "thresholds": dict(thresholds), "checks_version": checks_version, "count": count}


def thresholds_record(thresholds: Thresholds) -> dict[str, Any]:
    """Thresholds as plain JSON data (tuples as lists), to store with an evaluation."""
    values = dataclasses.asdict(thresholds)
    return {name: list(value) if isinstance(value, tuple) else value for name, value in values.items()}


def thresholds_from_record(record: Mapping[str, Any]) -> Thresholds:
    """The thresholds an evaluation recorded (fields added since take their defaults)."""
    known = {field.name for field in dataclasses.fields(Thresholds)}
    values = {name: tuple(value) if isinstance(value, list) else value for name, value in record.items()}
    return Thresholds(**{name: value for name, value in values.items() if name in known})


@cache
def checks_version() -> str:
    """A fingerprint of the check code and data: equal fingerprints mean re-deriving must give equal verdicts."""
    digest = hashlib.sha256(b"auditpack-checks-v1\n")
    # Every module, metadata file and data table, subfolders (data/) included, named by its relative path.
    for path in sorted(_CHECKS_DIR.rglob("*"), key=lambda p: p.relative_to(_CHECKS_DIR).as_posix()):
        if path.suffix in {".py", ".yaml"} and path.is_file() and "__pycache__" not in path.parts:
            name = path.relative_to(_CHECKS_DIR).as_posix()
            digest.update(name.encode() + b"\n" + path.read_bytes() + b"\n")
    return digest.hexdigest()
