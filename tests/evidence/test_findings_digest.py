"""Known answers for the findings digest: what is hashed is pinned, so a change to it cannot pass unnoticed
(saving and checking call the same functions, so a round trip alone would not see a dropped field)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime

import pytest

from evidence.checks.thresholds import Thresholds
from evidence.checks.types import Finding, FindingStatus
from evidence.findings_digest import (
    checks_version,
    finding_key,
    finding_record_hash,
    findings_digest,
    set_header,
    thresholds_from_record,
    thresholds_record,
)

FINDING = Finding(
    check_id="s3.default_encryption",
    status=FindingStatus.FAIL,
    account_id="111111111111",
    region="global",
    resource_id="arn:aws:s3:::phi",
    reason="no default encryption",
    evidence=("a" * 64, "b" * 64),
    observed_at=datetime(2026, 11, 20, 2, 0, tzinfo=UTC),
    owner="platform",
    resource_type="bucket",
)
RECORD_HASH = "185a8f33781bf77323d8ddc0a120f41fb9e7b554571fa7bea62e0e9839e19f1e"
HEADER = set_header(run_id=7, thresholds={"password_min_length": 14}, checks_version="c" * 64, count=2)
DIGEST = "74fd2fcc6de3a287cf7441df2b63f403a53b561e0fac5303c79dc359685765a7"


def _canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def test_the_record_hash_is_sha256_of_every_field_as_canonical_json() -> None:
    expected = hashlib.sha256(
        _canonical(
            {
                "type": "finding",
                "run_id": 7,
                "check_id": "s3.default_encryption",
                "status": "fail",
                "account_id": "111111111111",
                "region": "global",
                "resource_id": "arn:aws:s3:::phi",
                "resource_type": "bucket",
                "reason": "no default encryption",
                "evidence": ["a" * 64, "b" * 64],
                "observed_at": "2026-11-20T02:00:00Z",
                "owner": "platform",
            }
        )
    ).hexdigest()
    assert finding_record_hash(7, FINDING) == expected == RECORD_HASH


def test_the_digest_covers_the_header_and_the_sorted_record_hashes() -> None:
    expected = hashlib.sha256(
        b"auditpack-findings-digest-v1\n"
        + _canonical(HEADER)
        + b"\n"
        + (b"0" * 64 + b"\n")
        + (RECORD_HASH.encode() + b"\n")
    ).hexdigest()
    assert findings_digest(HEADER, [RECORD_HASH, "0" * 64]) == expected == DIGEST
    assert findings_digest(HEADER, ["0" * 64, RECORD_HASH]) == DIGEST  # order of storage does not matter


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("check_id", "s3.versioning"),
        ("status", FindingStatus.PASS),
        ("account_id", "222222222222"),
        ("region", "us-east-1"),
        ("resource_id", "arn:aws:s3:::other"),
        ("resource_type", "object"),
        ("reason", "fine"),
        ("evidence", ("a" * 64,)),
        ("evidence", ("b" * 64, "a" * 64)),
        ("observed_at", datetime(2026, 11, 20, 2, 0, 1, tzinfo=UTC)),
        ("observed_at", None),
        ("owner", None),
    ],
)
def test_changing_any_field_changes_the_record_hash(field: str, value: object) -> None:
    assert finding_record_hash(7, dataclasses.replace(FINDING, **{field: value})) != RECORD_HASH


def test_the_run_is_part_of_the_record_hash() -> None:
    assert finding_record_hash(8, FINDING) != RECORD_HASH


@pytest.mark.parametrize(
    "header",
    [
        {**HEADER, "run_id": 8},
        {**HEADER, "thresholds": {"password_min_length": 15}},
        {**HEADER, "checks_version": "d" * 64},
        {**HEADER, "count": 3},
    ],
)
def test_changing_the_header_changes_the_digest(header: dict[str, object]) -> None:
    assert findings_digest(header, [RECORD_HASH, "0" * 64]) != DIGEST


def test_adding_removing_or_duplicating_a_record_changes_the_digest() -> None:
    for hashes in ([RECORD_HASH], [RECORD_HASH, "0" * 64, "1" * 64], [RECORD_HASH, RECORD_HASH, "0" * 64]):
        assert findings_digest(HEADER, hashes) != DIGEST


def test_thresholds_round_trip_as_json_data() -> None:
    stricter = Thresholds(password_min_length=20, admin_ports=(22,), classification_tag_keys=("Data",))
    record = thresholds_record(stricter)
    assert record["admin_ports"] == [22] and record["classification_tag_keys"] == ["Data"]
    assert json.loads(json.dumps(record)) == record
    assert thresholds_from_record(record) == stricter
    # A threshold added after the evaluation takes its default; one since removed is ignored.
    assert thresholds_from_record({"password_min_length": 20, "retired": 1}) == Thresholds(password_min_length=20)


def test_the_key_of_a_verdict_is_check_and_resource() -> None:
    assert finding_key(FINDING) == ("s3.default_encryption", "111111111111", "global", "arn:aws:s3:::phi")


def test_the_checks_version_is_a_stable_sha256() -> None:
    assert checks_version() == checks_version() and len(checks_version()) == 64
    int(checks_version(), 16)


def test_the_checks_version_follows_the_check_code_and_data(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Equal fingerprints must mean equal check code: a changed check or its metadata changes it (so findings
    from other code are not re-derived and reported as tampered), an unrelated file does not."""
    import shutil

    from evidence import findings_digest

    checks = tmp_path / "checks"
    shutil.copytree(findings_digest._CHECKS_DIR, checks, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(findings_digest, "_CHECKS_DIR", checks)
    fingerprint = findings_digest.checks_version.__wrapped__
    original = fingerprint()
    assert original == checks_version()  # the copy is the installed code

    (checks / "notes.txt").write_text("not code")
    assert fingerprint() == original
    iam = checks / "iam.py"
    iam.write_text(iam.read_text() + "\n# changed\n")
    changed_code = fingerprint()
    assert changed_code != original
    metadata = checks / "iam.yaml"
    metadata.write_text(metadata.read_text() + "\n# changed\n")
    changed_metadata = fingerprint()
    assert changed_metadata not in (original, changed_code)
    table = checks / "data" / "lambda_runtimes.yaml"  # data in a subfolder is part of what the checks decide on
    table.write_text(table.read_text() + "\n# changed\n")
    assert fingerprint() not in (original, changed_code, changed_metadata)
