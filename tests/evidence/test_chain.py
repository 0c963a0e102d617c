"""The hash chain's functions, pinned from outside.

Sealing and verifying call the same functions, so a change to what is hashed changes both sides and no
round-trip test sees it. These known answers (fixed inputs, the exact canonical bytes and the pinned SHA-256)
fail instead: a stored chain written by an earlier version would no longer verify. Changing a hashed format
on purpose means a new domain string (`auditpack-run-digest-v2`) and new pins, never an edit of these; changing
only the serialisation means a new canonical version (`core.canonical`) with its own pins beside these.

Version 1 (auditpack's legacy canonical JSON) and version 2 (RFC 8785) give the same bytes for ASCII text and
integers, which is all these records hold, so one set of pins serves both; version 2 is checked against
`rfc8785.dumps` independently, and a run header with a float in its scope shows that the version is honoured.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import rfc8785

from core.canonical import JCS, LEGACY, VERSIONS
from evidence.chain import evidence_record_hash, gap_record_hash, run_digest, run_header

EVIDENCE: dict[str, Any] = {
    "run_id": 7,
    "account_id": "111111111111",
    "region": "eu-west-1",
    "service": "s3",
    "resource_type": "bucket",
    "resource_id": "arn:aws:s3:::audit-logs",
    "kind": "s3.bucket_encryption",
    "observed_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    "owner": "platform",
    "sha256": "ab" * 32,
}
EVIDENCE_CANONICAL = (
    b'{"account_id":"111111111111","kind":"s3.bucket_encryption","observed_at":"2026-01-02T03:04:05Z",'
    b'"owner":"platform","region":"eu-west-1","resource_id":"arn:aws:s3:::audit-logs","resource_type":"bucket",'
    b'"run_id":7,"service":"s3","sha256":"' + b"ab" * 32 + b'","type":"evidence"}'
)
EVIDENCE_HASH = "c847bc8e9cabff152e70bf677c32a87c5809f17c5770afa18592bf1ed2ebb0da"

GAP: dict[str, Any] = {
    "run_id": 7,
    "account_id": "111111111111",
    "region": "eu-west-1",
    "service": "s3",
    "operation": "GetBucketEncryption",
    "kind": "s3.bucket_encryption",
    "resource_id": "arn:aws:s3:::audit-logs",
    "error_code": "AccessDenied",
    "message": "not authorized",
    "observed_at": datetime(2026, 1, 2, 3, 4, 6, tzinfo=UTC),
}
GAP_CANONICAL = (
    b'{"account_id":"111111111111","error_code":"AccessDenied","kind":"s3.bucket_encryption",'
    b'"message":"not authorized","observed_at":"2026-01-02T03:04:06Z","operation":"GetBucketEncryption",'
    b'"region":"eu-west-1","resource_id":"arn:aws:s3:::audit-logs","run_id":7,"service":"s3","type":"gap"}'
)
GAP_HASH = "6d94aebf43f204a2ec87398d3f5308e0215b0174815ed0af615ce68dedf6700f"


@dataclass(frozen=True)
class FakeRun:
    """Has the attributes of `evidence.models.Run` that `run_header` reads."""

    id: int = 7
    trigger: str = "schedule"
    requested_by: str = "nightly"
    scope: dict[str, Any] | None = None
    started_at: datetime = datetime(2026, 1, 2, 3, 0, 0, tzinfo=UTC)
    finished_at: datetime | None = datetime(2026, 1, 2, 3, 5, 0, tzinfo=UTC)
    status: str = "partial"
    error: str | None = None
    evidence_count: int = 2
    gap_count: int = 1
    max_evidence_id: int | None = 40
    max_gap_id: int | None = 3
    chain_seq: int | None = 5
    previous_digest: str | None = "cd" * 32


RUN = FakeRun(scope={"accounts": ["111111111111"], "regions": ["eu-west-1"]})
HEADER: dict[str, Any] = {
    "id": 7,
    "trigger": "schedule",
    "requested_by": "nightly",
    "scope": {"accounts": ["111111111111"], "regions": ["eu-west-1"]},
    "started_at": "2026-01-02T03:00:00Z",
    "finished_at": "2026-01-02T03:05:00Z",
    "status": "partial",
    "error": None,
    "evidence_count": 2,
    "gap_count": 1,
    "max_evidence_id": 40,
    "max_gap_id": 3,
    "chain_seq": 5,
    "previous_digest": "cd" * 32,
}
HEADER_CANONICAL = (
    b'{"chain_seq":5,"error":null,"evidence_count":2,"finished_at":"2026-01-02T03:05:00Z","gap_count":1,"id":7,'
    b'"max_evidence_id":40,"max_gap_id":3,"previous_digest":"' + b"cd" * 32 + b'","requested_by":"nightly",'
    b'"scope":{"accounts":["111111111111"],"regions":["eu-west-1"]},"started_at":"2026-01-02T03:00:00Z",'
    b'"status":"partial","trigger":"schedule"}'
)
DIGEST = "a23d2c7f55caa0d41a5cd59a8ffcdf4fb69d18a064512029b8254bbbc5621921"


def _other(value: Any) -> Any:
    """A different value of the same kind, for 'change one field' tests."""
    if isinstance(value, datetime):
        return value + timedelta(seconds=1)
    if isinstance(value, int):
        return value + 1
    if value is None:
        return "set"
    return f"{value}-changed"


@pytest.mark.parametrize("version", VERSIONS)
def test_evidence_record_hash_known_answer(version: int) -> None:
    assert hashlib.sha256(EVIDENCE_CANONICAL).hexdigest() == EVIDENCE_HASH
    assert evidence_record_hash(**EVIDENCE, canonical_version=version) == EVIDENCE_HASH


def test_the_version_2_record_hash_is_sha256_of_rfc8785_dumps() -> None:
    fields = {**EVIDENCE, "type": "evidence", "observed_at": "2026-01-02T03:04:05Z"}
    assert rfc8785.dumps(fields) == EVIDENCE_CANONICAL
    assert evidence_record_hash(**EVIDENCE, canonical_version=JCS) == hashlib.sha256(rfc8785.dumps(fields)).hexdigest()


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", sorted(EVIDENCE))
def test_changing_any_evidence_field_changes_its_record_hash(name: str, version: int) -> None:
    changed = {**EVIDENCE, name: _other(EVIDENCE[name])}
    assert evidence_record_hash(**changed, canonical_version=version) != EVIDENCE_HASH


def test_an_evidence_row_without_owner_hashes_differently_from_an_empty_owner() -> None:
    unset = evidence_record_hash(**{**EVIDENCE, "owner": None}, canonical_version=JCS)
    assert unset != evidence_record_hash(**{**EVIDENCE, "owner": ""}, canonical_version=JCS)


@pytest.mark.parametrize("version", VERSIONS)
def test_gap_record_hash_known_answer(version: int) -> None:
    assert hashlib.sha256(GAP_CANONICAL).hexdigest() == GAP_HASH
    assert gap_record_hash(**GAP, canonical_version=version) == GAP_HASH


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", sorted(GAP))
def test_changing_any_gap_field_changes_its_record_hash(name: str, version: int) -> None:
    assert gap_record_hash(**{**GAP, name: _other(GAP[name])}, canonical_version=version) != GAP_HASH


def test_run_header_holds_every_field_the_digest_covers() -> None:
    assert run_header(RUN) == HEADER


def test_run_header_of_an_unfinished_run_has_no_finish_time() -> None:
    assert run_header(replace(RUN, finished_at=None))["finished_at"] is None


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", sorted(HEADER))
def test_changing_any_run_field_changes_the_digest(name: str, version: int) -> None:
    changed = replace(RUN, **{name: _other(getattr(RUN, name))})
    digest = run_digest(run_header(changed), ["11" * 32, "22" * 32], ["33" * 32], canonical_version=version)
    assert digest != DIGEST


@pytest.mark.parametrize("version", VERSIONS)
def test_run_digest_known_answer(version: int) -> None:
    expected = (
        b"auditpack-run-digest-v1\n"
        + HEADER_CANONICAL
        + b"\nevidence\n"
        + ("11" * 32 + "\n" + "22" * 32 + "\n").encode()
        + b"gaps\n"
        + ("33" * 32 + "\n").encode()
    )
    assert hashlib.sha256(expected).hexdigest() == DIGEST
    # Record hashes are sorted, so the order rows come back from the database does not matter.
    assert run_digest(HEADER, ["22" * 32, "11" * 32], ["33" * 32], canonical_version=version) == DIGEST
    assert run_digest(HEADER, ["11" * 32, "22" * 32], ["33" * 32], canonical_version=version) == DIGEST


def test_the_run_digest_is_computed_in_the_version_it_is_given() -> None:
    """A header the versions serialise differently (a float in the scope): each version hashes its own bytes."""
    header = {**HEADER, "scope": {"accounts": ["111111111111"], "sample": 1.0}}
    legacy, jcs = (run_digest(header, ["11" * 32], [], canonical_version=v) for v in (LEGACY, JCS))
    tail = b"\nevidence\n" + ("11" * 32 + "\n").encode() + b"gaps\n"
    assert jcs == hashlib.sha256(b"auditpack-run-digest-v1\n" + rfc8785.dumps(header) + tail).hexdigest()
    assert b'"sample":1}' in rfc8785.dumps(header)
    assert legacy != jcs


@pytest.mark.parametrize("version", VERSIONS)
def test_run_digest_covers_each_evidence_and_gap_hash_and_which_list_it_is_in(version: int) -> None:
    evidence, gaps = ["11" * 32, "22" * 32], ["33" * 32]

    def digest(header: dict[str, Any], evidence: list[str], gaps: list[str]) -> str:
        return run_digest(header, evidence, gaps, canonical_version=version)

    assert digest(HEADER, evidence[:1], gaps) != DIGEST  # an evidence row removed
    assert digest(HEADER, evidence, []) != DIGEST  # a gap removed
    assert digest(HEADER, evidence, [*gaps, "44" * 32]) != DIGEST  # a gap added
    assert digest(HEADER, [*evidence, *gaps], []) != DIGEST  # a gap passed off as evidence
    assert digest({**HEADER, "error": "boom"}, evidence, gaps) != DIGEST
