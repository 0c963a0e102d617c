"""The findings table: save replaces a run's findings, load filters and pages, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect

from core.errors import ConflictError, InputError, NotFoundError
from evidence.checks.thresholds import Thresholds
from evidence.checks.types import Finding, FindingStatus
from evidence.findings import (
    finding_accounts,
    finding_counts,
    has_findings,
    iter_findings,
    load_finding_rows,
    load_findings,
    save_findings,
)
from evidence.store import EvidenceStore
from tests.evidence.helpers import record_run

WHEN = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _finding(check_id: str, status: FindingStatus, account: str, resource: str, region: str = "us-east-1") -> Finding:
    return Finding(
        check_id=check_id,
        status=status,
        account_id=account,
        region=region,
        resource_id=resource,
        reason=f"{status.value} because",
        evidence=("a" * 64, "b" * 64),
        observed_at=WHEN,
        owner="team",
        resource_type="bucket",
    )


SAMPLE = [
    _finding("s3.default_encryption", FindingStatus.PASS, "111111111111", "arn:aws:s3:::one"),
    _finding("s3.default_encryption", FindingStatus.FAIL, "111111111111", "arn:aws:s3:::two"),
    _finding("s3.default_encryption", FindingStatus.ERROR, "222222222222", "arn:aws:s3:::three", "eu-west-1"),
    _finding("iam.root_mfa_enabled", FindingStatus.FAIL, "222222222222", "arn:aws:iam::222222222222:root", "global"),
]


def test_save_and_load_round_trip_with_filters(store: EvidenceStore) -> None:
    run = record_run(store, [{"x": 1}])
    assert save_findings(store, run.id, SAMPLE, thresholds=Thresholds()) == 4
    assert load_findings(store, run.id) == SAMPLE
    assert [f.resource_id for f in load_findings(store, run.id, status="fail")] == [
        "arn:aws:s3:::two",
        SAMPLE[3].resource_id,
    ]
    assert load_findings(store, run.id, check_id="iam.root_mfa_enabled", account_id="222222222222") == [SAMPLE[3]]
    assert load_findings(store, run.id, account_id="222222222222", region="eu-west-1") == [SAMPLE[2]]
    assert finding_counts(store, run.id) == {
        "s3.default_encryption": {"pass": 1, "fail": 1, "error": 1},
        "iam.root_mfa_enabled": {"fail": 1},
    }


def test_re_evaluation_replaces_a_runs_findings_only(store: EvidenceStore) -> None:
    first, second = record_run(store, [{"x": 1}]), record_run(store, [{"x": 2}])
    save_findings(store, first.id, SAMPLE, thresholds=Thresholds())
    save_findings(store, second.id, SAMPLE[:1], thresholds=Thresholds())
    save_findings(store, first.id, SAMPLE[1:2], thresholds=Thresholds())
    assert load_findings(store, first.id) == SAMPLE[1:2]
    assert load_findings(store, second.id) == SAMPLE[:1]
    assert has_findings(store, first.id)


def test_keyset_paging(store: EvidenceStore) -> None:
    run = record_run(store, [{"x": 1}])
    save_findings(store, run.id, SAMPLE, thresholds=Thresholds())
    page = load_finding_rows(store, run.id, limit=3)
    rest = load_finding_rows(store, run.id, after_id=page[-1][0])
    assert [f for _, f in page + rest] == SAMPLE


def test_findings_need_a_sealed_run_and_a_known_status(store: EvidenceStore) -> None:
    running = store.start_run(trigger="cli", requested_by="t", scope={})
    with pytest.raises(ConflictError, match="still running"):
        save_findings(store, running.id, SAMPLE, thresholds=Thresholds())
    with pytest.raises(NotFoundError):
        save_findings(store, 999_999, SAMPLE, thresholds=Thresholds())
    with pytest.raises(InputError, match="unknown finding status 'maybe'"):
        load_findings(store, running.id, status="maybe")


def test_indexes_serve_paging_by_check_status_and_place(store: EvidenceStore) -> None:
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(store.engine).get_indexes("findings")}
    assert indexes["ix_findings_run_check"] == ["run_id", "check_id", "id"]
    assert indexes["ix_findings_run_status"] == ["run_id", "status", "id"]
    assert indexes["ix_findings_run_account_region"] == ["run_id", "account_id", "region", "id"]
    assert indexes["ix_findings_run_id"] == ["run_id", "id"]
    assert indexes["ix_findings_run_account_check_status"] == ["run_id", "account_id", "check_id", "status", "id"]


def test_paging_one_run_among_others_whose_rows_surround_it(store: EvidenceStore) -> None:
    first, second, empty = (record_run(store, [{"x": n}]) for n in (1, 2, 3))
    save_findings(store, first.id, SAMPLE, thresholds=Thresholds())
    save_findings(store, second.id, SAMPLE[:2], thresholds=Thresholds())
    # re-evaluated: its rows now come after the second run's
    save_findings(store, first.id, SAMPLE[1:], thresholds=Thresholds())
    # and again: the first run's rows now lie between older and newer ones
    save_findings(store, second.id, SAMPLE, thresholds=Thresholds())
    for run_id, expected in ((first.id, SAMPLE[1:]), (second.id, SAMPLE)):
        pages, after = [], None
        while page := load_finding_rows(store, run_id, limit=2, after_id=after):
            pages += page
            after = page[-1][0]
        assert [f for _, f in pages] == expected
        assert [row_id for row_id, _ in pages] == sorted(row_id for row_id, _ in pages)
    by_service = load_finding_rows(store, first.id, check_ids={"iam.root_mfa_enabled", "rds.storage_encrypted"})
    assert [f for _, f in by_service] == [SAMPLE[3]]
    assert load_finding_rows(store, empty.id, limit=5) == []
    assert load_finding_rows(store, first.id, observed_from=WHEN) != []
    assert load_finding_rows(store, first.id, observed_to=WHEN) == []  # the end is exclusive


def test_iter_findings_streams_every_page_of_one_run_with_the_filters(store: EvidenceStore) -> None:
    first, second = record_run(store, [{"x": 1}]), record_run(store, [{"x": 2}])
    many = [
        _finding("s3.default_encryption", FindingStatus.FAIL if n % 3 else FindingStatus.PASS, f"{n % 2}" * 12, f"b{n}")
        for n in range(7)
    ]
    save_findings(store, first.id, many, thresholds=Thresholds())
    save_findings(store, second.id, SAMPLE, thresholds=Thresholds())
    save_findings(store, first.id, [*many, SAMPLE[3]], thresholds=Thresholds())  # rows after the second run's
    assert list(iter_findings(store, first.id, page_size=2)) == [*many, SAMPLE[3]]  # 4 pages, the last one short
    assert list(iter_findings(store, first.id, page_size=4)) == [*many, SAMPLE[3]]  # exact multiple: an empty page
    assert list(iter_findings(store, first.id, status="pass", page_size=1)) == [f for f in many if f.status == "pass"]
    assert list(iter_findings(store, first.id, account_id="1" * 12, check_ids={"s3.default_encryption"})) == [
        f for f in many if f.account_id == "1" * 12
    ]
    assert list(iter_findings(store, record_run(store, [{"x": 3}]).id)) == []
    assert finding_accounts(store, first.id) == ["0" * 12, "1" * 12, "222222222222"]
    assert finding_accounts(store, first.id, check_id="iam.root_mfa_enabled") == ["222222222222"]
