"""The tamper-evident hash chain over runs, evidence rows and gaps.

Each evidence row and gap stores `record_sha256`, the SHA-256 of the canonical JSON of its fields (including
the payload's sha256 and its run id). When a run ends it is *sealed*: it takes the next chain position and

    digest = SHA-256( "auditpack-run-digest-v1\\n"
                      || canonical_json(header) || "\\nevidence\\n"
                      || for each evidence record hash, sorted: hash || "\\n"
                      || "gaps\\n"
                      || for each gap record hash, sorted: hash || "\\n" )

where `header` holds the run's own fields and the previous sealed run's digest. Changing, adding or removing any
row, blob or run header of any sealed run therefore changes a digest that no longer matches what was stored,
and every later run's `previous_digest` pins the one before it.

`canonical_json` is `core.canonical` in the version the row or run records in its `canonical_version` column
(1: auditpack's legacy form, 2: RFC 8785); the version itself is not hashed, it says how to recompute. The hashed
fields are the same in every version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from core.canonical import canonical_json, rfc3339, sha256_hex

DIGEST_DOMAIN = b"auditpack-run-digest-v1\n"


def evidence_record_hash(
    *,
    run_id: int,
    account_id: str,
    region: str,
    service: str,
    resource_type: str,
    resource_id: str,
    kind: str,
    observed_at: datetime,
    owner: str | None,
    sha256: str,
    canonical_version: int,
) -> str:
    return sha256_hex(
        canonical_json(
            {
                "type": "evidence",
                "run_id": run_id,
                "account_id": account_id,
                "region": region,
                "service": service,
                "resource_type": resource_type,
                "resource_id": resource_id,
                "kind": kind,
                "observed_at": rfc3339(observed_at),
                "owner": owner,
                "sha256": sha256,
            },
            version=canonical_version,
        )
    )


def gap_record_hash(
    *,
    run_id: int,
    account_id: str,
    region: str,
    service: str,
    operation: str,
    kind: str | None,
    resource_id: str | None,
    error_code: str,
    message: str,
    observed_at: datetime,
    canonical_version: int,
) -> str:
    return sha256_hex(
        canonical_json(
            {
                "type": "gap",
                "run_id": run_id,
                "account_id": account_id,
                "region": region,
                "service": service,
                "operation": operation,
                "kind": kind,
                "resource_id": resource_id,
                "error_code": error_code,
                "message": message,
                "observed_at": rfc3339(observed_at),
            },
            version=canonical_version,
        )
    )


def run_header(run: Any) -> dict[str, Any]:
    """The fields of a run that its digest covers (`run` is a `Run` or anything with the same attributes)."""
    return {
        "id": run.id,
        "trigger": run.trigger,
        "requested_by": run.requested_by,
        "scope": run.scope,
        "started_at": rfc3339(run.started_at),
        "finished_at": rfc3339(run.finished_at) if run.finished_at else None,
        "status": run.status,
        "error": run.error,
        "evidence_count": run.evidence_count,
        "gap_count": run.gap_count,
        "max_evidence_id": run.max_evidence_id,
        "max_gap_id": run.max_gap_id,
        "chain_seq": run.chain_seq,
        "previous_digest": run.previous_digest,
    }


def run_digest(
    header: dict[str, Any], evidence_hashes: Iterable[str], gap_hashes: Iterable[str], *, canonical_version: int
) -> str:
    digest = hashlib.sha256(DIGEST_DOMAIN)
    digest.update(canonical_json(header, version=canonical_version))
    digest.update(b"\nevidence\n")
    for record in sorted(evidence_hashes):
        digest.update(record.encode("ascii") + b"\n")
    digest.update(b"gaps\n")
    for record in sorted(gap_hashes):
        digest.update(record.encode("ascii") + b"\n")
    return digest.hexdigest()
