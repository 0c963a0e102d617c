"""findings.csv is what the `csv` module writes for each finding, whatever its cells hold: the fast path (cells
joined by commas) is taken only where `csv` would write the same, and a spreadsheet never runs a cell as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone

import pytest

from core.canonical import rfc3339
from evidence.checks.types import Finding, FindingStatus
from reports.export import FINDINGS_COLUMNS, spreadsheet_text, write_findings

ODD = ["plain", "a,b", 'say "hi"', "line\nbreak", "carriage\rreturn", "=SUM(A1)", "+1", "-1", "@x", "\ttab", "", "ü😀"]
CONTROLS: dict[str, Sequence[str]] = {"s3.encrypted": ("3.5.1", "8.2.1"), "iam.mfa": ("8.4.2",), "odd": ("a,b",)}


def _findings() -> list[Finding]:
    found = []
    times: list[datetime | None] = [
        datetime(2026, 11, 20, 2, 0, tzinfo=UTC),
        datetime(2026, 11, 20, 2, 0, 0, 123456, tzinfo=UTC),
        datetime(2026, 11, 20, 5, 0, tzinfo=timezone(timedelta(hours=2))),
        None,
    ]
    for index, text in enumerate(ODD * 4):
        found.append(
            Finding(
                check_id=("s3.encrypted", "iam.mfa", "unmapped", "odd")[index % 4],
                status=list(FindingStatus)[index % len(FindingStatus)],
                account_id="111122223333",
                region=("eu-west-1", text)[index % 2],
                resource_id=text or "arn:aws:s3:::b",
                reason=ODD[(index + 3) % len(ODD)],
                evidence=tuple(f"{n:064x}" for n in range(index % 3)),
                observed_at=times[index % len(times)],
                owner=(None, text, "team-a")[index % 3],
                resource_type=ODD[(index + 5) % len(ODD)],
            )
        )
    return found


def _expected(findings: list[Finding]) -> bytes:
    """findings.csv as one `csv.writer.writerow` per finding writes it."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")  # a cell with "\r" or "\n" quoted
    writer.writerow(FINDINGS_COLUMNS)
    for f in findings:
        writer.writerow(
            (
                f.check_id,
                f.status.value,
                " ".join(CONTROLS.get(f.check_id, ())),
                f.account_id,
                f.region,
                spreadsheet_text(f.resource_type),
                spreadsheet_text(f.resource_id),
                spreadsheet_text(f.owner or ""),
                rfc3339(f.observed_at) if f.observed_at else "",
                " ".join(f.evidence),
                spreadsheet_text(f.reason),
            )
        )
    return text.getvalue().replace("\r\n", "\n").encode("utf-8")


@pytest.mark.parametrize("per_write", [10_000, 3])  # 3: batches end mid-way, often
def test_the_bytes_are_those_of_the_csv_module(monkeypatch: pytest.MonkeyPatch, per_write: int) -> None:
    monkeypatch.setattr("reports.export._ROWS_PER_WRITE", per_write)
    findings = _findings()
    out = io.BytesIO()
    assert write_findings(findings, CONTROLS, out) == len(findings)  # type: ignore[arg-type]
    data = out.getvalue()
    assert data == _expected(findings)
    rows = list(csv.DictReader(io.StringIO(data.decode(), newline="")))
    assert [row["resource_id"] for row in rows] == [spreadsheet_text(f.resource_id) for f in findings]
    assert [row["reason"] for row in rows] == [spreadsheet_text(f.reason) for f in findings]  # "\r" and "\n" kept
    formula = ("=", "+", "-", "@", "\t", "\r")
    assert not any(row[column].startswith(formula) for row in rows for column in ("resource_id", "owner", "reason"))


def test_no_findings_is_the_header_alone() -> None:
    out = io.BytesIO()
    assert write_findings([], CONTROLS, out) == 0  # type: ignore[arg-type]
    assert out.getvalue() == _expected([])
