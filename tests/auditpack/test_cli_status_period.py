"""`auditpack status --from --to`: every control's history and operation over a month of nightly captures
(tests/frameworks/period_store.py), as JSON and as a table, and the errors a period can have."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.frameworks import period_store as month
from tests.frameworks.period_store import Month

FROM, TO = month.FIRST.isoformat(), month.LAST.isoformat()


@pytest.fixture
def month_env(month_store: Month, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Month:
    monkeypatch.setenv("AUDITPACK_DATABASE_URL", month_store.url)
    monkeypatch.setenv("AUDITPACK_CATALOG_DIR", str(month.write_catalog(tmp_path / "catalogs")))
    monkeypatch.setenv("AUDITPACK_DATA_DIR", str(tmp_path / "data"))
    return month_store


def test_status_over_a_period_as_json(month_env: Month, run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("status", "--framework", "ops", "--from", FROM, "--to", TO, "--format", "json")
    assert result.code == 0, result
    data = json.loads(result.stdout)
    period = data["period"]
    assert (period["from"], period["to"], period["captures"], period["days"]) == (FROM, TO, "all", 30)
    assert period["days_without_capture"] == [month.day(month.MISSED).isoformat()]
    assert period["unusable_runs"] == [
        {"id": month_env.failed_run.id, "status": "failed", "finished_at": "2026-04-17T02:00:00Z"}
    ]
    assert period["longest_failing_streak"] == {"days": 19, "controls": ["E1"]}
    controls = {control["id"]: control for control in data["controls"]}
    e1 = controls["E1"]
    assert [entry["run_id"] for entry in e1["history"]] == [run["run_id"] for run in period["runs"]]
    assert e1["history"][2] == {
        "run_id": month_env.runs[(3, 2)].id,
        "observed_at": "2026-04-03T02:00:00Z",
        "status": "not_met",
    }
    operation = e1["operation"]
    assert {key: operation[key] for key in ("captures", "met", "failed", "excepted", "incomplete")} == {
        "captures": 30,
        "met": 12,
        "failed": 18,
        "excepted": 0,
        "incomplete": 0,
    }
    assert (operation["first_failure"], operation["last_failure"]) == ("2026-04-03T02:00:00Z", "2026-04-21T02:00:00Z")
    assert operation["longest_failing_streak_days"] == 19
    assert operation["failures"][0]["time_to_remediation_seconds"] == 19 * 86400
    assert operation["uncovered_days"] == ["2026-04-17"]
    assert controls["P1"]["operation"]["days_without_evidence"][:2] == ["2026-04-01", "2026-04-02"]
    assert controls["E2"]["operation"]["excepted"] == 6
    # the status itself is the one at the period's end (its newest run), as for a period packet
    assert data["runs"][0]["id"] == month_env.runs[(30, 2)].id


def test_daily_captures_and_the_table(month_env: Month, run_cli) -> None:  # type: ignore[no-untyped-def]
    daily = run_cli(
        "status", "--framework", "ops", "--from", FROM, "--to", TO, "--captures", "daily", "--format", "json"
    )
    assert daily.code == 0, daily
    runs = json.loads(daily.stdout)["period"]["runs"]
    assert len(runs) == 29 and month_env.runs[(month.SECOND, 2)].id not in {run["run_id"] for run in runs}
    table = run_cli("status", "--framework", "ops", "--from", FROM, "--to", TO)
    assert table.code == 0, table
    assert "E1: failing from 2026-04-03 02:00" in table.stdout
    assert "19 day(s); remediated 2026-04-22 02:00" in table.stdout
    assert "days without a capture: 2026-04-17" in table.stdout
    assert (
        "2 requirements failed at some point in the month; the longest streak was 19 days, on E1. "
        "1 day of 30 had no capture."
    ) in table.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", FROM), "--from and --to go together"),
        (("--from", TO, "--to", FROM), "--from 2026-04-30 is after --to 2026-04-01"),
        (("--from", "2026-04-31", "--to", TO), "--from: '2026-04-31' is not a date"),
        (("--from", FROM, "--to", TO, "--as-of", TO), "either --as-of or --from/--to"),
        (("--captures", "daily"), "--captures chooses the runs of a period"),
    ],
)
def test_a_bad_period_is_refused_with_exit_2(month_env: Month, run_cli, args, message) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("status", "--framework", "ops", *args)
    assert result.code == 2 and message in result.stderr, result
